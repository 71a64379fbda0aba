@testable import BackflowADBC
import BackflowPlanner
import BackflowSources
import BackflowTestSupport
import Foundation
import Testing

/// `fields` computed inside Spark equals, byte for byte, what Backflow writes for the same row read
/// through the real `adbc_driver_spark`, for every type Spark's driver returns and the values
/// where the two spell them differently (shortest digits and exponents, escapes, base64 lines).
@Suite("sync log fields computed in Spark", .enabled(if: TestEnvironment.sparkURI != nil))
struct SparkFieldsJSONTests {
  let connection: ADBCConnection

  init() throws {
    let uri = try #require(TestEnvironment.sparkURI)
    connection = try database("adbc_driver_spark", [("uri", uri)]).connect()
  }

  static let doubles = [
    "0.1", "1e20", "1e16", "9007199254740992", "9007199254740994", "1e15", "8999999999999999", "1e-4", "1.5e-4", "9e-5",
    "2.5e-5", "-2.5e-5", "1e7", "12345678.9", "-0.0", "0.0", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308",
    "123.456", "1e-3", "0.001234", "100", "1e22", "1e-300", "-42.5", "6.02214076e23",
  ]
  static let floats = ["1.1", "16777216", "16777218", "1e10", "1e-5", "3.4e38", "0.1", "-0.0", "1e-4", "123456.7"]
  static let strings = [
    "'plain'", "''", "'é漢字🎉'", #"'say "hi" \\ back'"#, "'a/b'", "concat_ws('', transform(sequence(0, 31), c -> chr(c)))",
    "concat('tab', chr(9), 'nl', chr(10), 'cr', chr(13), 'nul', chr(0), 'us', chr(31), 'del', chr(127))", "NULL",
  ]
  static let binaries = ["X'00FF10'", "CAST(repeat('x', 100) AS BINARY)", "X''", "NULL"]
  static let timestamps = [
    "TIMESTAMP'2024-03-01 13:45:30.123456'", "TIMESTAMP'1969-12-31 23:59:59.5'", "TIMESTAMP'0999-01-01 00:00:00'", "NULL",
  ]
  static let others = [
    "array(CAST(1e20 AS DOUBLE), NULL, CAST('NaN' AS DOUBLE))", "array()", "NULL",
  ]

  /// One row per value of the longest list; every column cycles through its own values.
  static var model: String {
    let count = [doubles, floats, strings, binaries, timestamps].map(\.count).max() ?? 0
    return (0..<count).map { row -> String in
      func value<T>(_ list: [T]) -> T { list[row % list.count] }
      return """
        SELECT \(row) AS id, CAST('\(value(doubles))' AS DOUBLE) AS d, CAST('\(value(floats))' AS FLOAT) AS f,
          CAST(\(value(strings)) AS STRING) AS s, CAST(\(value(binaries)) AS BINARY) AS b,
          \(value(timestamps)) AS ts, CAST(\(value(timestamps)) AS TIMESTAMP_NTZ) AS ntz,
          DATE_ADD(DATE'2024-02-28', \(row)) AS dt, CAST(\(row) - 3.5 AS DECIMAL(38, 9)) AS dec, CAST(\(row) AS BIGINT) * 1000000007 AS big,
          CAST(\(row) % 3 AS TINYINT) AS tiny, \(row) % 2 = 0 AS flag, CAST(NULL AS INT) AS nothing,
          CAST(\(value(others)) AS ARRAY<DOUBLE>) AS list,
          named_struct('a "b"', CAST(\(value(strings)) AS STRING), 'n', CAST(\(row) AS BIGINT), 'inner', named_struct('d', CAST('\(value(doubles))' AS DOUBLE))) AS st,
          map(\(row), 'one', -\(row) - 1, CAST(\(value(strings)) AS STRING)) AS m,
          map(coalesce(CAST(\(value(strings)) AS STRING), 'none'), array(CAST(\(value(timestamps)) AS TIMESTAMP), NULL)) AS nested,
          CAST('\(value(doubles))' AS DOUBLE) AS q
        """
    }.joined(separator: "\nUNION ALL\n")
  }

  @Test func everyRowsFieldsAreBackflowsBytes() throws {
    // A table, as a sync's staged model is: over the model's UNION, Spark would copy the
    // expression into every branch.
    let table = "fields_\(UUID().uuidString.prefix(8).lowercased())"
    try connection.execute("CREATE TABLE \(table) USING parquet AS \(Self.model)")
    defer { try? connection.execute("DROP TABLE IF EXISTS \(table)") }
    let schema = try connection.query("SELECT * FROM \(table) LIMIT 0")
    let columns = schema.fields.map(\.name).filter { $0 != "id" }
    let object = try #require(SparkFieldsJSON.object(of: columns, in: schema.fields))
    let spark = try connection.textRows("SELECT id, \(object) FROM \(table) ORDER BY id")

    let rows = try connection.query("SELECT * FROM \(table) ORDER BY id")
    let fields = PlanFileFields(columns: columns)
    var backflow: [[String?]] = []
    while let values = try rows.next() {
      guard case let .integer(id) = values[0] else { Issue.record("id is \(values[0])"); break }
      backflow.append([String(id), fields.json(Array(values.dropFirst()))])
    }
    #expect(backflow.count == Self.doubles.count)
    for (ours, theirs) in zip(backflow, spark) {
      #expect(theirs == ours)
    }
  }

  @Test func aColumnOfATypeItCannotSpellLeavesTheRowsToBackflow() throws {
    let stream = try connection.query("SELECT 1 AS id, INTERVAL '1' DAY AS wait LIMIT 0")
    #expect(SparkFieldsJSON.object(of: ["id"], in: stream.fields) != nil)
    #expect(SparkFieldsJSON.object(of: ["id", "wait"], in: stream.fields) == nil)
    #expect(SparkFieldsJSON.object(of: ["missing"], in: stream.fields) == nil)
  }
}
