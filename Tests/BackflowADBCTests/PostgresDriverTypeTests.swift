import BackflowADBC
import BackflowPostgres
import BackflowSources
import BackflowTestSupport
import Foundation
import Testing

/// Each PostgreSQL type as the real `adbc_driver_postgresql` returns it in Arrow, read into the
/// model's values exactly.
@Suite("ADBC PostgreSQL driver types", .enabled(if: TestEnvironment.postgresURL != nil))
struct PostgresDriverTypeTests {
  let reader: ADBCModelReader

  init() throws {
    let postgres = try PostgresDatabase.create("adbc_types")
    // A sequence the model below tries to advance, which a read-only session refuses.
    try postgres.connect().execute("CREATE SEQUENCE backflow_sequence")
    reader = try ADBCModelReader(
      database: database("adbc_driver_postgresql", [("uri", postgres.url)]), dialect: .postgres)
  }

  /// The one value `expression` gives, read through the driver.
  func value(_ expression: String) throws -> FieldValue {
    let read = try rows(reader, "SELECT 1 AS id, \(expression) AS v", columns: ["v"])
    return try #require(read.first?.values.first)
  }

  @Test(arguments: [
    ("1::smallint", FieldValue.integer(1)),
    ("(-2147483648)::integer", .integer(-2_147_483_648)),
    ("9223372036854775807::bigint", .integer(9_223_372_036_854_775_807)),
    ("1.5::real", .number("1.5")),
    ("0.1::double precision", .number("0.1")),
    ("'NaN'::double precision", .string("NaN")),
    ("'-Infinity'::real", .string("-Infinity")),
    ("true", .bool(true)),
    ("false", .bool(false)),
    ("'héllo ''quoted'''::text", .string("héllo 'quoted'")),
    ("'\\x00ff10'::bytea", .string("AP8Q")),
    ("'2024-02-29'::date", .string("2024-02-29")),
    ("'0044-03-15'::date", .string("0044-03-15")),
    ("'13:45:30.25'::time", .string("13:45:30.250000")),
    ("'2024-03-01 13:45:30.123456'::timestamp", .string("2024-03-01T13:45:30.123456")),
    ("'1969-12-31 23:59:59.5'::timestamp", .string("1969-12-31T23:59:59.500000")),
    ("NULL::integer", .null),
    ("NULL::text", .null),
  ])
  func scalar(expression: String, expected: FieldValue) throws {
    #expect(try value(expression) == expected)
  }

  @Test func numericKeepsEveryDigit() throws {
    #expect(try value("123456789012345678901234567890.123456789::numeric") == .number("123456789012345678901234567890.123456789"))
    #expect(try value("-0.000000000000000000001::numeric") == .number("-0.000000000000000000001"))
  }

  @Test func timestampWithTimeZoneKeepsItsZone() throws {
    let text = try value("'2024-03-01 13:45:30+02'::timestamptz")
    // The driver gives the instant with the session's zone (UTC on the test server).
    #expect(text == .string("2024-03-01T11:45:30.000000+00:00"))
  }

  @Test func listsAndRecordsAreJSON() throws {
    #expect(try value("ARRAY[1, NULL, 3]::int[]") == .json("[1,null,3]"))
    #expect(try value("ARRAY['a', 'b\"c']::text[]") == .json(#"["a","b\"c"]"#))
  }

  @Test func jsonStaysJSON() throws {
    let read = try value(#"'{"a": [1, 2]}'::jsonb"#)
    #expect(read == .json(#"{"a": [1, 2]}"#))
  }

  @Test func modelsOnlyRead() throws {
    let error = #expect(throws: SourceError.self) {
      _ = try rows(reader, "SELECT 1 AS id, nextval('backflow_sequence') AS v", columns: ["v"])
    }
    #expect(error?.message.contains("models only read") == true, "\(String(describing: error))")
  }

  @Test func rowsComeInTheKeysByteOrderWhateverTheCollation() throws {
    let keys = ["B", "a", "é", "10", "9", "Z"]
    let values = (keys.map { "('\($0)' COLLATE \"und-x-icu\")" } + ["(NULL)"]).joined(separator: ", ")
    let read = try rows(reader, "SELECT column1 AS id FROM (VALUES \(values)) AS keys", columns: [])
    #expect(read.map(\.key) == [nil, "10", "9", "B", "Z", "a", "é"])
  }
}
