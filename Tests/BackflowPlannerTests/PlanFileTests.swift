import BackflowConfig
import BackflowSources
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

@testable import BackflowPlanner

/// Plan files are written byte by byte for speed; every line must still be exactly the compact
/// JSON that `JSONValue` renders, which apply and the documented format read.
@Suite("plan files")
struct PlanFileTests {
  static let odd = "q\"b\\n\nt\tr\rc\u{01}\u{1F}\u{7F} é 日 🙂 /"

  @Test func rowsAreTheCompactJSONOfTheirMembersAndReadBackByOperation() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("p.plan")
      let writer = try PlanFileWriter(url: url)
      let columns = ["a", "b\"\u{02}", "c", "d", "e", "f"]
      try writer.begin(sync: "s\"\\\u{03}", columns: columns)
      let values: [FieldValue] = [
        .string(Self.odd), .integer(-42), .number("1.50"), .bool(true), .null, .json("{ \"k\" : [1, \"\\u00e9\"] }"),
      ]
      let row = FingerprintedRow(key: Self.odd, fingerprint: "f", values: values)
      let rows: [PlannedRow] = [
        .add(row), .change(FingerprintedRow(key: "", fingerprint: "g", values: [.string("")])), .record(row),
        .unchanged(FingerprintedRow(key: nil, fingerprint: "h", values: values)),
        .remove(SnapshotEntry(key: "r", fingerprint: "i", matchValue: "\"m\"")), .reject(row, .duplicateKey),
      ]
      for planned in rows { try writer.write(planned) }
      try writer.finish(
        Plan(commit: nil, stateLineage: nil, syncs: [], diagnostics: Diagnostics()), backflowVersion: "test")

      func fields(_ row: FingerprintedRow) -> JSONValue {
        .object(zip(columns, row.values.map(\.json)).map { ($0, $1) })
      }
      let sync = JSONValue.string("s\"\\\u{03}")
      let expected: [JSONValue] = [
        .object([("sync", sync), ("op", .string("add")), ("key", .string(Self.odd)), ("fingerprint", .string("f")), ("fields", fields(row))]),
        .object([
          ("sync", sync), ("op", .string("change")), ("key", .string("")), ("fingerprint", .string("g")),
          ("fields", .object([("a", .string(""))])),
        ]),
        .object([("sync", sync), ("op", .string("record")), ("key", .string(Self.odd)), ("fingerprint", .string("f")), ("fields", fields(row))]),
        .object([("sync", sync), ("op", .string("unchanged")), ("key", .string("")), ("fields", fields(row))]),
        .object([("sync", sync), ("op", .string("remove")), ("key", .string("r")), ("fingerprint", .string("i")), ("match", .string("m"))]),
        .object([
          ("sync", sync), ("op", .string("reject")), ("key", .string(Self.odd)), ("reason", .string("duplicate_key")), ("fields", fields(row)),
        ]),
      ]
      let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
      #expect(lines.count == expected.count + 2)  // the header, the rows, and the empty text after the last newline
      for (line, value) in zip(lines.dropFirst(), expected) {
        #expect(String(line) == value.rendered(compact: true))
      }
      let changes = try PlanFileRows(url: url, sync: "s\"\\\u{03}", operations: ["change", "remove"])
      var read: [JSONValue] = []
      while let value = try changes.next() { read.append(value) }
      #expect(read.map { $0["op"] } == [.string("change"), .string("remove")])
      #expect(try PlanFileRows(url: url, sync: "other").next() == nil)
    }
  }
}
