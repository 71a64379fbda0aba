import BackflowMySQL
import BackflowTestSupport
import Foundation
import Testing

@Suite("MySQLConnection")
struct MySQLConnectionTests {
  /// Every test below that needs a server opens its own connection and uses temporary tables or
  /// tables of its own name, so the tests can run in parallel against the one database
  /// `scripts/with-mariadb.sh` creates.
  private func connect() throws -> MySQLConnection {
    try MySQLConnection(configuration: configuration())
  }

  private func configuration() throws -> MySQLConfiguration {
    try MySQLConfiguration(url: #require(TestEnvironment.mysqlURL))
  }

  /// A table name no other test uses, for what temporary tables cannot show (a read-only
  /// transaction may still write to those).
  private func uniqueTable(_ label: String) -> String {
    "bf_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
  }

  @Test("a run that requires MySQL can reach it, so MySQL tests never silently skip")
  func requiredServerIsReachable() throws {
    guard TestEnvironment.requiresMySQL else { return }
    let url = try #require(
      TestEnvironment.mysqlURL, "BACKFLOW_REQUIRE_MYSQL is set but BACKFLOW_TEST_MYSQL_URL is not")
    let connection = try MySQLConnection(url: url)
    #expect(try connection.query("SELECT DATABASE()") == [["backflow_test"]])
    #expect(connection.characterSet == "utf8mb4")
    #expect(try connection.query("SELECT @@character_set_results") == [["utf8mb4"]])
    #expect(!connection.serverVersion.isEmpty)
    #expect(connection.serverVersionNumber >= 50_705)
  }

  @Test(
    "values of every common type come back as text, every digit kept, NULL as nil",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func roundTripsTypes() throws {
    let connection = try connect()
    try connection.execute("SET time_zone = '+00:00'")
    try connection.execute(
      """
      CREATE TEMPORARY TABLE typed (
        id INT NOT NULL PRIMARY KEY,
        big BIGINT UNSIGNED,
        amount DECIMAL(30,10),
        ratio DOUBLE,
        label VARCHAR(100),
        body TEXT,
        data BLOB,
        day DATE,
        moment DATETIME(6),
        stamp TIMESTAMP NULL,
        doc JSON,
        note VARCHAR(10)
      ) CHARACTER SET utf8mb4
      """)
    let inserted = try connection.execute(
      """
      INSERT INTO typed VALUES
        (1, 18446744073709551615, 12345678901234567890.0123456789, 3.141592653589793,
         'Zoë 😀 日本', 'two\\nlines, ''quoted'', back\\\\slash', X'00FF10',
         '2024-02-29', '2024-02-29 23:59:58.123456', '2024-02-29 23:59:59',
         '{"a": [1, 2], "b": "😀"}', ''),
        (2, 0, -0.0000000001, -2.5, NULL, NULL, X'', NULL, NULL, NULL, NULL, NULL),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
      """)
    #expect(inserted == 3)
    let rows = try connection.stream("SELECT * FROM typed ORDER BY id")
    #expect(
      try rows.next() == [
        "1", "18446744073709551615", "12345678901234567890.0123456789", "3.141592653589793",
        "Zoë 😀 日本", "two\nlines, 'quoted', back\\slash", "\\x00ff10",
        "2024-02-29", "2024-02-29 23:59:58.123456", "2024-02-29 23:59:59",
        "{\"a\": [1, 2], \"b\": \"😀\"}", "",
      ])
    #expect(
      try rows.next() == [
        "2", "0", "-0.0000000001", "-2.5", nil, nil, "\\x", nil, nil, nil, nil, nil,
      ])
    #expect(try rows.next() == ["3"] + Array(repeating: nil, count: 11))
    #expect(try rows.next() == nil)
    #expect(try rows.next() == nil)

    let columns = Dictionary(uniqueKeysWithValues: rows.columns.map { ($0.name, $0) })
    #expect(
      rows.columns.map(\.name) == [
        "id", "big", "amount", "ratio", "label", "body", "data", "day", "moment", "stamp", "doc",
        "note",
      ])
    #expect(rows.columns.allSatisfy { $0.table == "typed" })
    #expect(columns["id"]?.type == .long)
    #expect(columns["id"]?.flags.isSuperset(of: [.notNull, .primaryKey]) == true)
    #expect(columns["id"]?.isNullable == false)
    #expect(columns["big"]?.type == .longLong)
    #expect(columns["big"]?.isUnsigned == true)
    #expect(columns["id"]?.isUnsigned == false)
    #expect(columns["amount"]?.type == .newDecimal)
    #expect(columns["amount"]?.decimals == 10)
    #expect(columns["ratio"]?.type == .double)
    #expect(columns["label"]?.type == .varString)
    #expect(columns["body"]?.type == .blob)
    #expect(columns["data"]?.type == .blob)
    #expect(columns["day"]?.type == .date)
    #expect(columns["moment"]?.type == .datetime)
    #expect(columns["moment"]?.decimals == 6)
    #expect(columns["stamp"]?.type == .timestamp)
    // Only BLOB holds bytes; TEXT and JSON are text, and so are numbers and dates, whose
    // character set is also `binary`.
    #expect(rows.columns.filter(\.isBinaryString).map(\.name) == ["data"])
    #expect(columns["data"]?.flags.contains(.binary) == true)
    #expect(columns["big"]?.characterSet == MySQLColumn.binaryCharacterSet)
    #expect(columns["amount"]?.type.description == "NEWDECIMAL")
  }

  @Test(
    "a large result streams row by row and ends with nil",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func streamsLargeResult() throws {
    let connection = try connect()
    let rows = try connection.stream(Self.numbers(200_000))
    #expect(rows.columns.map(\.name) == ["n", "label"])
    var count = 0
    var sum = 0
    var labelsMatch = true
    while let row = try rows.next() {
      guard let text = row[0], let number = Int(text) else {
        Issue.record("not a number: \(row)")
        break
      }
      count += 1
      sum += number
      labelsMatch = labelsMatch && row[1] == "row-\(number)"
    }
    #expect(count == 200_000)
    #expect(sum == 199_999 * 200_000 / 2)
    #expect(labelsMatch)
    #expect(try connection.query("SELECT 1") == [["1"]])
    // execute() reads the rows of a statement that has some one at a time too, and counts them.
    #expect(try connection.execute(Self.numbers(200_000)) == 200_000)
  }

  @Test(
    "the connection refuses statements while a stream is open, and takes them once it is released",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func releasedStreamFreesTheConnection() throws {
    let connection = try connect()
    var rows: MySQLRows? = try connection.stream(Self.numbers(200_000))
    for _ in 0..<10 { _ = try rows?.next() }
    let busy = #expect(throws: MySQLError.self) { try connection.execute("SELECT 1") }
    #expect(busy?.message.contains("streamed result is still open") == true)
    #expect(rows?.columns.count == 2)
    rows = nil
    #expect(try connection.query("SELECT 2") == [["2"]])
    // A statement without rows streams no columns and no rows.
    let none = try connection.stream("DO 1")
    #expect(none.columns.isEmpty)
    #expect(try none.next() == nil)
    #expect(try connection.query("SELECT 3") == [["3"]])
  }

  @Test(
    "a duplicate key fails with errno 1062, SQLSTATE 23000 and the server's message",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func duplicateKey() throws {
    let connection = try connect()
    try connection.execute(
      "CREATE TEMPORARY TABLE contacts (email VARCHAR(100) NOT NULL, name TEXT, UNIQUE KEY email_key (email))"
    )
    try connection.execute("INSERT INTO contacts VALUES ('a@example.com', 'Ada')")
    let error = #expect(throws: MySQLError.self) {
      try connection.execute("INSERT INTO contacts VALUES ('a@example.com', 'Other')")
    }
    #expect(error?.code == 1062)
    #expect(error?.sqlState == "23000")
    #expect(error?.message.contains("Duplicate entry 'a@example.com' for key 'email_key'") == true)
    #expect(error?.description.contains("MySQL error 1062, SQLSTATE 23000") == true)
    #expect(error?.isConnectionLost == false)
    #expect(!connection.isLost)
    // An upsert reports 2 for a row it changed, and the counts of a multi-row insert.
    #expect(
      try connection.execute(
        "INSERT INTO contacts VALUES ('a@example.com', 'Ada L') ON DUPLICATE KEY UPDATE name = VALUES(name)"
      )
        == 2)
    #expect(
      try connection.execute(
        "INSERT INTO contacts VALUES ('b@example.com', 'B'), ('c@example.com', 'C')")
        == 2)
    #expect(connection.info?.contains("Records: 2") == true)
    #expect(
      try connection.query("SELECT name FROM contacts ORDER BY email") == [["Ada L"], ["B"], ["C"]])
  }

  @Test(
    "a syntax error carries errno 1064 and leaves the connection usable; a second statement is one",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func syntaxError() throws {
    let connection = try connect()
    let error = #expect(throws: MySQLError.self) { try connection.query("SELEC 1") }
    #expect(error?.code == 1064)
    #expect(error?.sqlState == "42000")
    #expect(error?.message.contains("You have an error in your SQL syntax") == true)
    #expect(error?.message.contains("'SELEC 1'") == true)
    #expect(try connection.query("SELECT 1") == [["1"]])
    // One statement per call: text after a semicolon is refused, so nothing can follow a COMMIT.
    let several = #expect(throws: MySQLError.self) { try connection.execute("SELECT 1; SELECT 2") }
    #expect(several?.code == 1064)
    #expect(try connection.query("SELECT 2") == [["2"]])
  }

  @Test(
    "a write inside START TRANSACTION READ ONLY fails with errno 1792 and changes nothing",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func readOnlyTransactionRefusesWrites() throws {
    let connection = try connect()
    let table = MySQLConnection.quoteIdentifier(uniqueTable("readonly"))
    try connection.execute("CREATE TABLE \(table) (id INT PRIMARY KEY) ENGINE=InnoDB")
    defer { _ = try? connection.execute("DROP TABLE \(table)") }
    try connection.execute("INSERT INTO \(table) VALUES (1)")

    try connection.begin(readOnly: true)
    #expect(try connection.query("SELECT id FROM \(table)") == [["1"]])
    let error = #expect(throws: MySQLError.self) {
      try connection.execute("INSERT INTO \(table) VALUES (2)")
    }
    #expect(error?.code == 1792)
    #expect(error?.sqlState == "25006")
    #expect(error?.message.contains("READ ONLY") == true)
    try connection.rollback()

    let update = #expect(throws: MySQLError.self) {
      try connection.transaction(readOnly: true) {
        try connection.execute("UPDATE \(table) SET id = 3")
      }
    }
    #expect(update?.code == 1792)
    #expect(try connection.query("SELECT id FROM \(table)") == [["1"]])
  }

  @Test(
    "a transaction commits when its body returns and rolls back when it throws",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func transactions() throws {
    let connection = try connect()
    let table = MySQLConnection.quoteIdentifier(uniqueTable("tx"))
    try connection.execute("CREATE TABLE \(table) (id INT PRIMARY KEY) ENGINE=InnoDB")
    defer { _ = try? connection.execute("DROP TABLE \(table)") }
    let count = try connection.transaction {
      try connection.execute("INSERT INTO \(table) VALUES (1), (2)")
    }
    #expect(count == 2)
    try connection.begin()
    try connection.execute("INSERT INTO \(table) VALUES (3)")
    try connection.rollback()
    #expect(throws: MySQLError.self) {
      try connection.transaction {
        try connection.execute("INSERT INTO \(table) VALUES (4)")
        try connection.execute("INSERT INTO \(table) VALUES (1)")
      }
    }
    #expect(try connection.query("SELECT id FROM \(table) ORDER BY id") == [["1"], ["2"]])
    // Another session sees what was committed.
    #expect(try connect().query("SELECT COUNT(*) FROM \(table)") == [["2"]])
  }

  @Test(
    "identifiers in backticks may hold backticks, quotes, spaces, keywords and non-ASCII letters",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func quotesIdentifiers() throws {
    #expect(MySQLConnection.quoteIdentifier("plain") == "`plain`")
    #expect(MySQLConnection.quoteIdentifier("a`b") == "`a``b`")
    #expect(MySQLConnection.quoteIdentifier("``") == "``````")
    let connection = try connect()
    let names = [
      "odd `name`", "select", "with space", "a\"b'c", "Zoë 日本", "x;DROP TABLE y", "-- 1",
    ]
    let table = MySQLConnection.quoteIdentifier("odd table ` \(UUID().uuidString.prefix(6))")
    let columns = names.map { MySQLConnection.quoteIdentifier($0) + " INT" }.joined(separator: ", ")
    try connection.execute("CREATE TEMPORARY TABLE \(table) (\(columns))")
    let values = names.indices.map(String.init).joined(separator: ", ")
    try connection.execute("INSERT INTO \(table) VALUES (\(values))")
    let selected = names.map(MySQLConnection.quoteIdentifier).joined(separator: ", ")
    let rows = try connection.stream("SELECT \(selected) FROM \(table)")
    #expect(rows.columns.map(\.name) == names)
    #expect(try rows.next() == names.indices.map(String.init))
  }

  @Test(
    "string literals escaped by the connection read back unchanged, also under NO_BACKSLASH_ESCAPES",
    .enabled(if: TestEnvironment.mysqlURL != nil),
    arguments: ["", "NO_BACKSLASH_ESCAPES"])
  func quotesLiterals(sqlMode: String) throws {
    let connection = try connect()
    try connection.execute("SET SESSION sql_mode = \(try connection.quoteLiteral(sqlMode))")
    let values = [
      "", "plain", "O'Brien", "it''s", "back\\slash\\", "\\'; DROP TABLE x; --", "\"double\"",
      "two\nlines\r\ttab", "nul\u{0}byte", "Zoë 😀 日本", "\u{1A} ctrl-z", "%_ like",
    ]
    for value in values {
      let literal = try connection.quoteLiteral(value)
      #expect(try connection.query("SELECT \(literal)") == [[value]], "\(literal)")
    }
    #expect(
      try connection.quoteLiteral("O'Brien") == (sqlMode.isEmpty ? "'O\\'Brien'" : "'O''Brien'"))
  }

  @Test(
    "warnings are counted and listed with their code and message",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func warnings() throws {
    let connection = try connect()
    #expect(try connection.query("SELECT CAST('12abc' AS SIGNED)") == [["12"]])
    #expect(connection.warningCount == 1)
    let warnings = try connection.warnings()
    #expect(warnings.map(\.code) == [1292])
    #expect(warnings.first?.level == "Warning")
    #expect(warnings.first?.message.contains("12abc") == true)
    _ = try connection.query("SELECT 1")
    #expect(connection.warningCount == 0)
  }

  @Test(
    "a read timeout ends a query that outlasts it, and the connection reports itself lost",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func readTimeout() throws {
    var configuration = try configuration()
    configuration.readTimeout = .seconds(1)
    let connection = try MySQLConnection(configuration: configuration)
    #expect(try connection.query("SELECT 1") == [["1"]])
    let error = #expect(throws: MySQLError.self) { try connection.query("SELECT SLEEP(5)") }
    #expect(error?.isConnectionLost == true)
    #expect(connection.isLost)
  }

  @Test(
    "an error never shows the password, even when a statement quotes it",
    .enabled(if: TestEnvironment.mysqlURL != nil))
  func serverErrorsHidePassword() throws {
    var configuration = try configuration()
    let password = try #require(configuration.password)
    let connection = try MySQLConnection(configuration: configuration)
    let quoted = #expect(throws: MySQLError.self) {
      try connection.query("SELECT * FROM \(MySQLConnection.quoteIdentifier(password))")
    }
    #expect(quoted?.code == 1146)
    #expect(quoted?.description.contains(password) == false)
    #expect(quoted?.description.contains("***") == true)

    configuration.password = "wrong-" + password
    let denied = #expect(throws: MySQLError.self) {
      try MySQLConnection(configuration: configuration)
    }
    #expect(denied?.code == 1045)
    #expect(denied?.description.contains("Access denied") == true)
    #expect(denied?.description.contains(password) == false)
    #expect(denied?.description.contains(try #require(TestEnvironment.mysqlURL)) == false)
  }

  @Test(
    "a connection error never shows the URL or its password",
    arguments: [
      "mysql://x:hunter2@127.0.0.1:1/db?connect_timeout=2",
      "mysql://x:hunter2@[::1/db",
      "mysql://x:hunter2%zz@127.0.0.1/db",
      "mysql://x:hun ter2@127.0.0.1/db",
      "mysql://x:hunter2@127.0.0.1:99999/db",
      "mysql://x:hunter2@127.0.0.1/db?password=hunter2",
      "mysql://x:hunter2@127.0.0.1/a/b",
      "postgres://x:hunter2@127.0.0.1/db",
    ])
  func connectionErrorHidesSecrets(url: String) throws {
    let error = #expect(throws: MySQLError.self) { try MySQLConnection(url: url) }
    let description = try #require(error).description
    #expect(!description.isEmpty)
    #expect(!description.contains("hunter2"))
    #expect(!description.contains("ter2"))
    #expect(!description.contains(url))
  }

  /// `SELECT n, label` for n from 0 to `count` - 1 (at most a million), without a table: a cross
  /// join of digits, unordered so that the server streams rather than sorts.
  private static func numbers(_ count: Int) -> String {
    let digits = (0...9).map { "SELECT \($0) AS d" }.joined(separator: " UNION ALL ")
    let places = (0..<6).map { "(\(digits)) AS p\($0)" }.joined(separator: " CROSS JOIN ")
    let number = (0..<6).map { "p\($0).d * \(Int(pow(10, Double($0))))" }.joined(separator: " + ")
    return """
      SELECT n, CONCAT('row-', n) AS label FROM (SELECT \(number) AS n FROM \(places)) AS numbers
      WHERE n < \(count)
      """
  }
}
