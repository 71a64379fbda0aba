import BackflowPostgres
import BackflowTestSupport
import Testing

@Suite("PostgresCopyIn")
struct PostgresCopyInTests {
  private func connect() throws -> PostgresConnection {
    let url = try #require(TestEnvironment.postgresURL)
    return try PostgresConnection(conninfo: url)
  }

  @Test(
    "values that COPY escapes arrive exactly as written, NULL stays NULL",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func roundTripsEscapedValues() throws {
    let connection = try connect()
    try connection.execute("create temp table tricky (id int, value text, other text)")
    let values: [String?] = [
      "tab\there", "two\nlines", "back\\slash", "carriage\rreturn", "", nil, "\\N", "\\", "\\.",
      "Zoë ✓ 日本 🎉", "\u{1}\u{8}\u{b}\u{c}\u{7f}", " spaces ", "ends with tab\t", "\r\n",
      String(repeating: "0123456789\t\\\n", count: 200_000 / 13),
    ]
    let copy = try connection.copyIn("COPY tricky (id, value, other) FROM STDIN")
    for (id, value) in values.enumerated() {
      try copy.write([String(id), value, id == 3 ? nil : "x"])
    }
    try copy.finish()
    let expected = values.enumerated().map { id, value in [String(id), value, id == 3 ? nil : "x"] }
    #expect(try connection.query("select id, value, other from tricky order by id") == expected)
    // NULL and the text "\N" are told apart.
    #expect(try connection.query("select count(*) from tricky where value is null") == [["1"]])
  }

  @Test(
    "100,000 rows cross many chunks and all arrive, in order",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func writesManyRows() throws {
    let connection = try connect()
    try connection.execute("create temp table many (id int, label text)")
    let copy = try connection.copyIn("COPY many FROM STDIN")
    for id in 1...100_000 { try copy.write([String(id), "row \(id)"]) }
    try copy.finish()
    #expect(
      try connection.query("select count(*), sum(id), min(label), max(id) from many")
        == [["100000", "5000050000", "row 1", "100000"]])
    #expect(try connection.query("select label from many where id = 77777") == [["row 77777"]])
  }

  @Test(
    "a value of the wrong type fails the COPY with the server's message; nothing is kept and the connection stays usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func typeMismatch() throws {
    let connection = try connect()
    try connection.execute("create temp table typed (id int, at timestamptz)")
    let copy = try connection.copyIn("COPY typed FROM STDIN")
    try copy.write(["1", "2024-01-02 03:04:05+00"])
    try copy.write(["two", nil])
    try copy.write(["3", nil])
    let error = #expect(throws: PostgresError.self) { try copy.finish() }
    #expect(error?.sqlState == "22P02")
    #expect(error?.message.contains("invalid input syntax for type integer: \"two\"") == true)
    #expect(try connection.query("select count(*) from typed") == [["0"]])
    #expect(try connection.query("select 1") == [["1"]])

    let again = try connection.copyIn("COPY typed FROM STDIN")
    try again.write(["4", "2024-01-02 03:04:05+00"])
    try again.finish()
    #expect(
      try connection.query("select id, at = '2024-01-02 03:04:05+00' from typed") == [["4", "t"]])
  }

  @Test(
    "a constraint violated inside a transaction fails the COPY; the transaction can roll back",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func constraintInTransaction() throws {
    let connection = try connect()
    try connection.execute("create temp table checked (id int primary key, n int check (n > 0))")
    try connection.execute("begin")
    let copy = try connection.copyIn("COPY checked FROM STDIN")
    try copy.write(["1", "5"])
    try copy.write(["2", "-1"])
    let error = #expect(throws: PostgresError.self) { try copy.finish() }
    #expect(error?.sqlState == "23514")
    #expect(error?.message.contains("checked_n_check") == true)
    try connection.execute("rollback")
    #expect(try connection.query("select count(*) from checked") == [["0"]])
  }

  @Test(
    "a NUL character is refused by the server with its own message",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func nulCharacter() throws {
    let connection = try connect()
    try connection.execute("create temp table nul (value text)")
    let copy = try connection.copyIn("COPY nul FROM STDIN")
    try copy.write(["before\u{0}after"])
    let error = #expect(throws: PostgresError.self) { try copy.finish() }
    #expect(error?.message.contains("0x00") == true)
    #expect(try connection.query("select count(*) from nul") == [["0"]])
  }

  @Test(
    "a writer released before finish aborts the COPY and leaves the connection usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func abandoned() throws {
    let connection = try connect()
    try connection.execute("create temp table dropped (id int)")
    do {
      let copy = try connection.copyIn("COPY dropped FROM STDIN")
      try copy.write(["1"])
    }
    #expect(try connection.query("select count(*) from dropped") == [["0"]])
    let copy = try connection.copyIn("COPY dropped FROM STDIN")
    try copy.write(["2"])
    try copy.finish()
    #expect(try connection.query("select id from dropped") == [["2"]])
    #expect(throws: PostgresError.self) { try copy.write(["3"]) }
  }

  @Test(
    "a COPY that fails to start, or a statement that is not a COPY FROM STDIN, throws",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func refusals() throws {
    let connection = try connect()
    let missing = #expect(throws: PostgresError.self) {
      try connection.copyIn("COPY no_such_table FROM STDIN")
    }
    #expect(missing?.sqlState == "42P01")
    try connection.execute("create temp table target (id int)")
    #expect(throws: PostgresError.self) { try connection.copyIn("select 1") }
    #expect(throws: PostgresError.self) { try connection.copyIn("COPY (select 1) TO STDOUT") }
    #expect(throws: PostgresError.self) {
      try connection.copyIn("COPY target FROM STDIN (FORMAT binary)")
    }
    #expect(throws: PostgresError.self) {
      try connection.copyIn("COPY target FROM STDIN; select 1")
    }
    #expect(try connection.query("select count(*) from target") == [["0"]])
  }
}
