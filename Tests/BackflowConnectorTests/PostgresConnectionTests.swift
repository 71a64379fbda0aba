import BackflowPostgres
import BackflowTestSupport
import Testing

@Suite("PostgresConnection")
struct PostgresConnectionTests {
  /// Every test below that needs a server opens its own connection and uses temporary tables, so
  /// the tests can run in parallel against the one database `scripts/with-postgres.sh` creates.
  private func connect() throws -> PostgresConnection {
    let url = try #require(TestEnvironment.postgresURL)
    return try PostgresConnection(conninfo: url)
  }

  @Test("a run that requires PostgreSQL can reach it, so PostgreSQL tests never silently skip")
  func requiredServerIsReachable() throws {
    guard TestEnvironment.requiresPostgres else { return }
    let url = try #require(
      TestEnvironment.postgresURL,
      "BACKFLOW_REQUIRE_POSTGRES is set but BACKFLOW_TEST_POSTGRES_URL is not")
    let connection = try PostgresConnection(conninfo: url)
    #expect(try connection.query("select current_database()") == [["backflow_test"]])
  }

  @Test(
    "rows come back as text, NULL as nil and distinct from the empty string",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func roundTripsRows() throws {
    let connection = try connect()
    try connection.execute(
      """
      create temp table people (id int primary key, name text, note text, score numeric);
      insert into people values
        (1, 'Ada', null, 1.50),
        (2, null, 'x', null),
        (3, '', 'Zoë ✓ 日本', -2),
        (4, 'O''Brien', e'two\\nlines', 0);
      """)
    let rows = try connection.query("select id, name, note, score from people order by id")
    #expect(
      rows == [
        ["1", "Ada", nil, "1.50"],
        ["2", nil, "x", nil],
        ["3", "", "Zoë ✓ 日本", "-2"],
        ["4", "O'Brien", "two\nlines", "0"],
      ])
  }

  @Test(
    "a statement without rows returns none", .enabled(if: TestEnvironment.postgresURL != nil))
  func commandReturnsNoRows() throws {
    let connection = try connect()
    #expect(try connection.query("create temp table empty_result (id int)") == [])
    #expect(try connection.query("select * from empty_result") == [])
  }

  @Test(
    "a syntax error carries SQLSTATE 42601 and leaves the connection usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func syntaxError() throws {
    let connection = try connect()
    let error = #expect(throws: PostgresError.self) { try connection.query("selec 1") }
    #expect(error?.sqlState == "42601")
    #expect(error?.description.contains("syntax error at or near \"selec\"") == true)
    #expect(error?.description.contains("SQLSTATE 42601") == true)
    #expect(try connection.query("select 1") == [["1"]])
  }

  @Test(
    "a unique violation names the constraint", .enabled(if: TestEnvironment.postgresURL != nil))
  func uniqueViolation() throws {
    let connection = try connect()
    try connection.execute(
      """
      create temp table contacts (
        email text constraint contacts_email_key unique,
        name text
      );
      insert into contacts values ('a@example.com', 'Ada');
      """)
    let error = #expect(throws: PostgresError.self) {
      try connection.execute("insert into contacts values ('a@example.com', 'Other')")
    }
    #expect(error?.sqlState == "23505")
    #expect(error?.description.contains("contacts_email_key") == true)
  }

  @Test(
    "COPY through query() is refused and the connection stays usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func copyIsRefused() throws {
    let connection = try connect()
    try connection.execute("create temp table copied (id int)")
    #expect(throws: PostgresError.self) { try connection.execute("copy copied from stdin") }
    #expect(throws: PostgresError.self) { try connection.query("copy (select 1) to stdout") }
    #expect(try connection.query("select count(*) from copied") == [["0"]])
  }

  @Test(
    "parameters travel as text, nil as NULL, quotes and semicolons as data",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func parameters() throws {
    let connection = try connect()
    try connection.execute("create temp table notes (id int, body text)")
    let tricky = "O'Brien said \"hi\"; drop table notes; -- $2 \\"
    try connection.execute("insert into notes values ($1, $2)", ["1", tricky])
    try connection.execute("insert into notes values ($1, $2)", ["2", nil])
    try connection.execute("insert into notes values ($1, $2)", ["3", ""])
    #expect(
      try connection.query("select id, body from notes order by id", [])
        == [["1", tricky], ["2", nil], ["3", ""]])
    #expect(try connection.query("select id from notes where body = $1", [tricky]) == [["1"]])
    #expect(
      try connection.query("select id from notes where body is null and $1", ["t"])
        == [["2"]])
    #expect(
      try connection.query("select $1::int + $1::int, $2::text", ["20", nil])
        == [["40", nil]])
  }

  @Test(
    "a parameterised statement is one statement, and its errors carry their SQLSTATE",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func parameterErrors() throws {
    let connection = try connect()
    let several = #expect(throws: PostgresError.self) {
      try connection.execute("select 1; select 2", [])
    }
    #expect(several?.sqlState == "42601")
    let invalid = #expect(throws: PostgresError.self) {
      try connection.query("select $1::int", ["forty"])
    }
    #expect(invalid?.sqlState == "22P02")
    let count = #expect(throws: PostgresError.self) {
      try connection.query("select $1::text, $2::text", ["a"])
    }
    #expect(count?.sqlState == "08P01")
    // libpq would cut the value at the NUL, so it is refused before anything is sent.
    let nul = #expect(throws: PostgresError.self) {
      try connection.query("select $1::text", ["a\u{0}b"])
    }
    #expect(nul?.message.contains("$1") == true)
    #expect(try connection.query("select 1", []) == [["1"]])
  }

  @Test(
    "describe names a query's columns and their type OIDs without running it",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func describeColumns() throws {
    let connection = try connect()
    #expect(
      try connection.describe(
        "select 1::int4 as id, 'a'::text as label, now() as seen_at, $1::int8 as n")
        == [
          PostgresColumn(name: "id", typeOID: 23),
          PostgresColumn(name: "label", typeOID: 25),
          PostgresColumn(name: "seen_at", typeOID: 1184),
          PostgresColumn(name: "n", typeOID: 20),
        ])
    try connection.execute("create temp table described (id serial, name text)")
    #expect(
      try connection.describe("insert into described (name) values ('x') returning id")
        == [PostgresColumn(name: "id", typeOID: 23)])
    #expect(try connection.query("select count(*) from described") == [["0"]])
    #expect(try connection.describe("delete from described") == [])
  }

  @Test(
    "describe reports a missing table and a syntax error with SQLSTATE and position",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func describeErrors() throws {
    let connection = try connect()
    let missing = #expect(throws: PostgresError.self) {
      try connection.describe("select id from no_such_table")
    }
    #expect(missing?.sqlState == "42P01")
    #expect(missing?.message.contains("no_such_table") == true)
    #expect(missing?.position == 16)
    // The position counts characters, so the two-byte ë before the error counts once.
    let sql = "select 'Zoë' as name from where"
    let syntax = #expect(throws: PostgresError.self) { try connection.describe(sql) }
    let offset = try #require(sql.range(of: "where")).lowerBound
    #expect(syntax?.sqlState == "42601")
    #expect(syntax?.position == sql.distance(from: sql.startIndex, to: offset) + 1)
    #expect(syntax?.message.contains("syntax error at or near \"where\"") == true)
    let plain = #expect(throws: PostgresError.self) { try connection.query("selec 1") }
    #expect(plain?.position == 1)
    #expect(try connection.query("select 1") == [["1"]])
  }

  /// libpq quotes malformed connection strings back, URIs whole; none of these may reach the error.
  @Test(
    "a connection error never shows the connection string or its password",
    arguments: [
      "host=127.0.0.1 port=1 password=hunter2 user=x",
      "postgresql://x:hunter2@127.0.0.1:1/db",
      "postgresql://x:hunter2@[::1/db",
      "postgresql://x:hunter2%zz@127.0.0.1/db",
      "postgresql://x:hun\"ter2@[::1/db",
      "host=127.0.0.1 password=hunter2 junk\"hunter2",
    ])
  func connectionErrorHidesSecrets(conninfo: String) throws {
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(conninfo: conninfo)
    }
    let description = try #require(error).description
    #expect(!description.isEmpty)
    #expect(!description.contains("hunter2"))
    #expect(!description.contains("ter2"))
    #expect(!description.contains(conninfo))
  }

  @Test("an unknown connection option is named, since it is a keyword and not a value")
  func unknownOptionIsNamed() {
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(conninfo: "host=127.0.0.1 dbnme=x password=hunter2")
    }
    #expect(error?.description == "invalid connection option \"dbnme\"")
  }
}
