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
      try writer.begin(sync: "s\"\\\u{03}", columns: columns, copy: nil)
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
        .object([("sync", sync), ("op", .string("unchanged")), ("key", .string("")), ("fingerprint", .string("h")), ("fields", fields(row))]),
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
      var read: [PlannedRow] = []
      while let value = try changes.next() { read.append(value) }
      #expect(read == [rows[1], rows[4]])
      #expect(try PlanFileRows(url: url, sync: "other").next() == nil)
    }
  }

  /// Apply reads the rows `PlanFileWriter` wrote as the same typed values; what the file does not
  /// hold (the fingerprint of reject rows, a NULL key of an unchanged row) reads back empty, and
  /// JSON values come back compact.
  @Test func rowsReadBackAsTheTypedRowsWritten() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("p.plan")
      let writer = try PlanFileWriter(url: url)
      let columns = ["a", "b\"\u{02}", "c", "d", "e", "f", "g"]
      try writer.begin(sync: "t", columns: columns, copy: nil)
      let values: [FieldValue] = [
        .string(Self.odd), .integer(-42), .number("1.50"), .bool(false), .null, .json("{ \"k\" : [1, \"\\u00e9\"] }"),
        .integer(Int64.max),
      ]
      var compact = values
      compact[5] = .json(#"{"k":[1,"é"]}"#)
      let row = FingerprintedRow(key: Self.odd, fingerprint: "f", values: values)
      let written: [PlannedRow] = [
        .remove(SnapshotEntry(key: "r", fingerprint: "i", matchValue: #"{"m":[1,2.5]}"#)),
        .remove(SnapshotEntry(key: "", fingerprint: "", matchValue: nil)),
        .add(row), .change(row), .record(row), .unchanged(FingerprintedRow(key: nil, fingerprint: "h", values: values)),
        .reject(FingerprintedRow(key: nil, fingerprint: "j", values: values), .nullKey), .reject(row, .duplicateKey),
      ]
      for planned in written { try writer.write(planned) }
      try writer.finish(
        Plan(commit: nil, stateLineage: nil, syncs: [], diagnostics: Diagnostics()), backflowVersion: "test")

      let expected: [PlannedRow] = [
        written[0], written[1],
        .add(FingerprintedRow(key: Self.odd, fingerprint: "f", values: compact)),
        .change(FingerprintedRow(key: Self.odd, fingerprint: "f", values: compact)),
        .record(FingerprintedRow(key: Self.odd, fingerprint: "f", values: compact)),
        .unchanged(FingerprintedRow(key: "", fingerprint: "h", values: compact)),
        .reject(FingerprintedRow(key: nil, fingerprint: "", values: compact), .nullKey),
        .reject(FingerprintedRow(key: Self.odd, fingerprint: "", values: compact), .duplicateKey),
      ]
      let rows = try PlanFileRows(url: url, sync: "t")
      var read: [PlannedRow] = []
      while let value = try rows.next() { read.append(value) }
      #expect(read == expected)
      #expect(rows.columns == columns)
    }
  }

  /// The common rows are read from their bytes, not as JSON: every line of them is read by the
  /// scanner, to the same row JSON gives.
  @Test(arguments: [
    [FieldValue.string(odd), .string(""), .string("\\"), .string("\u{00}\u{1F}")],
    [.integer(Int64.min), .integer(Int64.max), .integer(0), .number("-0.5e-3")],
    // A float's negative zero keeps its sign, which the typed copy reads back.
    [.number("-0"), .integer(-1), .number("-0.0"), .integer(10)],
    [.number("1.50"), .number("12345678901234567890"), .bool(true), .bool(false)],
    [.null, .json(#"{"a":"}]\"","b":[1,{"c":null}]}"#), .json("[]"), .json(#"["{",{"[":"\\"}]"#)],
  ])
  func theCommonRowsAreScannedToTheRowsJSONGives(values: [FieldValue]) throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("p.plan")
      let writer = try PlanFileWriter(url: url)
      let columns = ["a", "b\"é", "a_column_name_longer_than_fifteen_bytes", "d"]
      try writer.begin(sync: "s", columns: columns, copy: nil)
      let row = FingerprintedRow(key: Self.odd, fingerprint: "f\t", values: values)
      for planned: PlannedRow in [.add(row), .change(row), .record(row), .unchanged(row)] { try writer.write(planned) }
      try writer.finish(
        Plan(commit: nil, stateLineage: nil, syncs: [], diagnostics: Diagnostics()), backflowVersion: "test")
      let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst()
      let prefix = #"{"sync":"s","op":"#.utf8.count
      for line in lines {
        var bytes = Array(line.utf8)
        let scanned = bytes.withUnsafeMutableBufferPointer { buffer in
          var scanner = PlanFileScanner(UnsafeBufferPointer(buffer), from: prefix)
          return scanner.row(fields: PlanFileFields(columns: columns))
        }
        let parsed = try JSONValue.parse(String(line))
        let fields: [FieldValue] =
          if case let .object(members)? = parsed["fields"] { members.map { FieldValue(json: $0.1) } } else { [] }
        let key: String = if case let .string(text)? = parsed["key"] { text } else { "?" }
        let fingerprint: String = if case let .string(text)? = parsed["fingerprint"] { text } else { "" }
        let typed = FingerprintedRow(key: key, fingerprint: fingerprint, values: fields)
        let expected: PlannedRow? =
          switch parsed["op"] {
          case .string("add")?: .add(typed)
          case .string("change")?: .change(typed)
          case .string("record")?: .record(typed)
          case .string("unchanged")?: .unchanged(typed)
          default: nil
          }
        #expect(scanned != nil)
        #expect(scanned == expected)
      }
      #expect(lines.count == 4)
    }
  }

  @Test(arguments: [
    (#"{"sync":"s","op":"upsert","key":"1","fingerprint":"f","fields":{}}"#, "a row of unknown operation \"upsert\""),
    (#"{"sync":"s","op":"reject","key":"1","reason":"odd","fields":{}}"#, "a reject row with an unknown reason"),
    (#"{"sync":"s","op":"remove","fingerprint":"f","match":null}"#, "a remove row without a key"),
    (#"{"sync":"s","op":"add","key":"1","fingerprint":"f","fields":[1]}"#, "a row whose fields are not an object"),
  ])
  func aDamagedRowIsAnErrorThatSaysWhatIsWrong(line: String, problem: String) throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("p.plan")
      try Data("{\"format_version\":1}\n\(line)\n".utf8).write(to: url)
      #expect {
        _ = try PlanFileRows(url: url, sync: "s").next()
      } throws: { error in
        "\(error)" == "the plan file \(url.path) is damaged: it holds \(problem)"
      }
    }
  }

  @Test func rowsOfOneSyncWithDifferentFieldsAreAnError() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("p.plan")
      let lines = [
        #"{"format_version":1}"#, #"{"sync":"s","op":"add","key":"1","fingerprint":"f","fields":{"a":1,"b":2}}"#,
        #"{"sync":"s","op":"add","key":"2","fingerprint":"f","fields":{"b":1,"a":2}}"#,
      ]
      try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
      let rows = try PlanFileRows(url: url, sync: "s")
      #expect(try rows.next() == .add(FingerprintedRow(key: "1", fingerprint: "f", values: [.integer(1), .integer(2)])))
      #expect(throws: PlanError.self) { try rows.next() }
    }
  }
}
