import BackflowADBC
import BackflowSources
import BackflowTestSupport
import Foundation
import Testing

/// SQLite's storage classes as the real `adbc_driver_sqlite` returns them.
@Suite("ADBC SQLite driver types")
struct SQLiteDriverTypeTests {
  let reader: ADBCModelReader

  init() throws {
    reader = try ADBCModelReader(database: database("adbc_driver_sqlite", [("uri", sqliteFile("types"))]), dialect: .sqlite)
  }

  @Test(arguments: [
    ("42", FieldValue.integer(42)),
    ("-9223372036854775808", .integer(-9_223_372_036_854_775_808)),
    ("2.5", .number("2.5")),
    ("'text ''q'''", .string("text 'q'")),
    ("x'00ff10'", .string("AP8Q")),
    ("NULL", .null),
  ])
  func scalar(expression: String, expected: FieldValue) throws {
    let read = try rows(reader, "SELECT 1 AS id, \(expression) AS v", columns: ["v"])
    #expect(read == [ModelRow(key: "1", values: [expected])])
  }

  @Test func rowsComeInTheKeysByteOrder() throws {
    let keys = ["B", "a", "é", "10", "9", "Z"]
    let values = (keys.map { "('\($0)')" } + ["(NULL)"]).joined(separator: ", ")
    let read = try rows(reader, "SELECT column1 AS id FROM (VALUES \(values))", columns: [])
    #expect(read.map(\.key) == [nil, "10", "9", "B", "Z", "a", "é"])
  }
}
