import BackflowADBC
import BackflowSources
import BackflowTestSupport
import Foundation
import Testing

/// Spark SQL's types as the real `adbc_driver_spark` returns them from the Spark Connect server
/// `make test` starts (scripts/with-spark.sh): decimals, structs, maps and zoned timestamps that
/// the other drivers never produce.
@Suite("ADBC Spark driver types", .enabled(if: TestEnvironment.sparkURI != nil))
struct SparkDriverTypeTests {
  let reader: ADBCModelReader

  init() throws {
    let uri = try #require(TestEnvironment.sparkURI)
    reader = try ADBCModelReader(database: database("adbc_driver_spark", [("uri", uri)]), dialect: .spark)
  }

  @Test(arguments: [
    ("CAST(7 AS TINYINT)", FieldValue.integer(7)),
    ("CAST(-300 AS SMALLINT)", .integer(-300)),
    ("CAST(2147483647 AS INT)", .integer(2_147_483_647)),
    ("CAST(-9223372036854775808 AS BIGINT)", .integer(-9_223_372_036_854_775_808)),
    ("CAST(0.1 AS FLOAT)", .number("0.1")),
    ("CAST(0.1 AS DOUBLE)", .number("0.1")),
    ("CAST('NaN' AS DOUBLE)", .string("NaN")),
    ("CAST(12345678901234567890123456789.123456789 AS DECIMAL(38, 9))", .number("12345678901234567890123456789.123456789")),
    ("CAST(-0.05 AS DECIMAL(10, 3))", .number("-0.050")),
    ("true", .bool(true)),
    ("'a ''quoted'' é'", .string("a 'quoted' é")),
    ("X'00FF10'", .string("AP8Q")),
    ("DATE'2024-02-29'", .string("2024-02-29")),
    ("TIMESTAMP_NTZ'2024-03-01 13:45:30.123456'", .string("2024-03-01T13:45:30.123456")),
    ("array(1, NULL, 3)", .json("[1,null,3]")),
    ("named_struct('a', 1, 'b', 'x', 'c', CAST(1.50 AS DECIMAL(4, 2)))", .json(#"{"a":1,"b":"x","c":1.50}"#)),
    ("map('k', array(DATE'2024-01-02'))", .json(#"{"k":["2024-01-02"]}"#)),
    ("CAST(NULL AS STRING)", .null),
  ])
  func scalar(expression: String, expected: FieldValue) throws {
    let read = try rows(reader, "SELECT 1 AS id, \(expression) AS v", columns: ["v"])
    #expect(read == [ModelRow(key: "1", values: [expected])])
  }

  /// The instant, shown in the session's zone (UTC: scripts/with-spark.sh sets it) with its offset.
  @Test func aZonedTimestampKeepsTheSessionsZone() throws {
    let read = try rows(reader, "SELECT 1 AS id, TIMESTAMP_LTZ'2024-03-01 13:45:30+02:00' AS v", columns: ["v"])
    #expect(read.first?.values == [.string("2024-03-01T11:45:30.000000+00:00")])
  }

  @Test func rowsComeInTheKeysByteOrder() throws {
    let keys = ["B", "a", "é", "10", "9", "Z"]
    let values = (keys.map { "('\($0)')" } + ["(NULL)"]).joined(separator: ", ")
    let read = try rows(reader, "SELECT col1 AS id FROM VALUES \(values)", columns: [])
    #expect(read.map(\.key) == [nil, "10", "9", "B", "Z", "a", "é"])
  }

  @Test("a run that requires Spark can reach it, so Spark tests never silently skip")
  func requiredServerIsReachable() throws {
    guard TestEnvironment.requiresSpark else { return }
    #expect(try rows(reader, "SELECT id FROM range(3)", columns: []).map(\.key) == ["0", "1", "2"])
  }
}
