import BackflowPostgres
import BackflowTestSupport
import Testing

@Suite("PostgresCopyOut")
struct PostgresCopyOutTests {
  private func connect() throws -> PostgresConnection {
    let url = try #require(TestEnvironment.postgresURL)
    return try PostgresConnection(conninfo: url)
  }

  /// Every row `copy` has left, read to the end.
  private func readAll(_ copy: PostgresCopyOut) throws -> [[String?]] {
    var rows: [[String?]] = []
    while let row = try copy.next() { rows.append(row) }
    return rows
  }

  @Test(
    "values that COPY escapes come back exactly as they were inserted",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func roundTripsEscapedValues() throws {
    let connection = try connect()
    try connection.execute("create temp table tricky (id int, value text, other text)")
    let values: [String?] = [
      "tab\there", "two\nlines", "back\\slash", "carriage\rreturn", "", nil, "\\N", "\\",
      "Zoë ✓ 日本 🎉", "\u{1}\u{8}\u{b}\u{c}\u{7f}", " spaces ", "ends with tab\t",
      String(repeating: "0123456789\t\\\n", count: 100_000 / 13),
    ]
    for (id, value) in values.enumerated() {
      try connection.execute("insert into tricky values ($1, $2, $3)", [String(id), value, "x"])
    }
    let copy = try connection.copyOut(
      "COPY (select id, value, other from tricky order by id) TO STDOUT")
    let expected = values.enumerated().map { id, value in [String(id), value, "x"] }
    #expect(try readAll(copy) == expected)
    #expect(try copy.next() == nil)
    #expect(try connection.query("select count(*) from tricky") == [[String(values.count)]])
  }

  @Test(
    "100,000 rows stream one at a time, in order",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func streamsManyRows() throws {
    let connection = try connect()
    let copy = try connection.copyOut(
      "COPY (select i, 'row ' || i, null from generate_series(1, 100000) i) TO STDOUT")
    var count = 0
    var mismatches = 0
    while let row = try copy.next() {
      count += 1
      if row != [String(count), "row \(count)", nil] { mismatches += 1 }
    }
    #expect(count == 100_000)
    #expect(mismatches == 0)
    #expect(try connection.query("select 1") == [["1"]])
  }

  @Test(
    "an error after some rows have arrived is thrown, and the connection stays usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func errorMidStream() throws {
    let connection = try connect()
    let copy = try connection.copyOut(
      "COPY (select 1/(i-5000) from generate_series(1, 10000) i) TO STDOUT")
    var count = 0
    let error = #expect(throws: PostgresError.self) {
      while try copy.next() != nil { count += 1 }
    }
    #expect(error?.sqlState == "22012")
    #expect(count < 5000)
    #expect(try copy.next() == nil)
    #expect(try connection.query("select 1") == [["1"]])
  }

  @Test(
    "a reader released early cancels the COPY and leaves the connection usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func stopsEarly() throws {
    let connection = try connect()
    // Reading 2 GB to the end would take far longer than the cancel; generate_series in the
    // select list streams its rows, where in FROM it would build all of them first.
    do {
      let copy = try connection.copyOut(
        "COPY (select generate_series(1, 20000000), repeat('x', 100)) TO STDOUT")
      for expected in 1...10 {
        #expect(try copy.next()?.first == String(expected))
      }
    }
    #expect(try connection.query("select 1") == [["1"]])
    #expect(try connection.query("select $1::int", ["2"]) == [["2"]])
    let again = try connection.copyOut("COPY (select 'again') TO STDOUT")
    #expect(try readAll(again) == [["again"]])
  }

  @Test(
    "a COPY that fails to start, or a statement that is not a COPY, throws",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func refusals() throws {
    let connection = try connect()
    let missing = #expect(throws: PostgresError.self) {
      try connection.copyOut("COPY (select * from no_such_table) TO STDOUT")
    }
    #expect(missing?.sqlState == "42P01")
    #expect(throws: PostgresError.self) { try connection.copyOut("select 1") }
    try connection.execute("create temp table copied (id int)")
    #expect(throws: PostgresError.self) { try connection.copyOut("COPY copied FROM STDIN") }
    #expect(throws: PostgresError.self) {
      try connection.copyOut("COPY (select 1) TO STDOUT; COPY (select 2) TO STDOUT")
    }
    #expect(throws: PostgresError.self) {
      try connection.copyOut("COPY (select 1) TO STDOUT (FORMAT binary)")
    }
    #expect(try connection.query("select count(*) from copied") == [["0"]])
  }
}
