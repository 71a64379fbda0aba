import BackflowConfig
import BackflowSources

/// A planned row's `fields` object as compact JSON bytes, exactly as `JSONValue` renders it: the
/// plan file's rows, and the sync logs' `fields`, which come from them.
public struct PlanFileFields: Sendable {
  /// The model columns, in the order a row's values follow.
  public let columns: [String]
  /// Each column's `"NAME":`, rendered once; `PlanFileScanner` reads them back.
  let keys: [[UInt8]]

  public init(columns: [String]) {
    self.columns = columns
    keys = columns.map { Array((JSONValue.quoted($0) + ":").utf8) }
  }

  /// Appends `{"COLUMN":VALUE,…}` for the leading values there are columns for.
  public func append(_ values: [FieldValue], to buffer: inout [UInt8]) {
    buffer.append(UInt8(ascii: "{"))
    for index in 0..<min(keys.count, values.count) {
      let value = values[index]
      if index > 0 { buffer.append(UInt8(ascii: ",")) }
      buffer.append(contentsOf: keys[index])
      switch value {
      case .null: buffer.append(contentsOf: "null".utf8)
      case let .bool(flag): buffer.append(contentsOf: (flag ? "true" : "false").utf8)
      case let .integer(number): buffer.append(contentsOf: String(number).utf8)
      case let .number(text): buffer.append(contentsOf: text.utf8)
      case let .string(text): PlanFileWriter.appendQuoted(text, to: &buffer)
      case .json: buffer.append(contentsOf: value.json.rendered(compact: true).utf8)
      }
    }
    buffer.append(UInt8(ascii: "}"))
  }

  /// The object as text.
  public func json(_ values: [FieldValue]) -> String {
    var buffer: [UInt8] = []
    append(values, to: &buffer)
    return String(decoding: buffer, as: UTF8.self)
  }
}
