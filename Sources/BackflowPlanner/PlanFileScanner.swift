import BackflowConfig
import BackflowSources

/// Reads the rows `PlanFileWriter` writes most (`add`, `change`, `record`, `unchanged`) straight
/// from a line's bytes into a `PlannedRow`: no `JSONValue` tree, no string per member name, one
/// array of values. Anything it does not expect (another operation, members in another order, a
/// row shorter than its columns) gives `nil`, and `PlanFileRows` parses that line as JSON.
struct PlanFileScanner {
  private let bytes: UnsafeBufferPointer<UInt8>
  private var position: Int

  /// `start` is just after the line's `{"sync":NAME,"op":`.
  init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) {
    self.bytes = bytes
    position = start
  }

  /// The row, when the line is one of the common ones with exactly `fields`' columns.
  mutating func row(fields: PlanFileFields) -> PlannedRow? {
    guard !fields.columns.isEmpty, let operation = string() else { return nil }
    guard skip(#","key":"#), let key = string() else { return nil }
    guard skip(#","fingerprint":"#), let fingerprint = string() else { return nil }
    guard skip(#","fields":"#), let values = values(fields), skip("}"), position == bytes.count else { return nil }
    return PlannedRow(operation: operation, FingerprintedRow(key: key, fingerprint: fingerprint, values: values))
  }

  /// `{"COLUMN":VALUE,…}` with every column, in order.
  private mutating func values(_ fields: PlanFileFields) -> [FieldValue]? {
    guard skip("{") else { return nil }
    var values: [FieldValue] = []
    values.reserveCapacity(fields.keys.count)
    for (index, key) in fields.keys.enumerated() {
      if index > 0, !skip(",") { return nil }
      guard skip(key), let value = value() else { return nil }
      values.append(value)
    }
    return skip("}") ? values : nil
  }

  private mutating func value() -> FieldValue? {
    guard position < bytes.count else { return nil }
    switch bytes[position] {
    case UInt8(ascii: "\""): return string().map(FieldValue.string)
    case UInt8(ascii: "n"): return skip("null") ? .null : nil
    case UInt8(ascii: "t"): return skip("true") ? .bool(true) : nil
    case UInt8(ascii: "f"): return skip("false") ? .bool(false) : nil
    case UInt8(ascii: "{"), UInt8(ascii: "["): return nested()
    default: return number()
    }
  }

  /// As `JSONValue`'s parser reads numbers: a whole number that fits is an integer, anything else
  /// keeps its text.
  private mutating func number() -> FieldValue? {
    let start = position
    var whole = true
    while position < bytes.count {
      switch bytes[position] {
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): position += 1
      case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"):
        whole = false
        position += 1
      default:
        return number(from: start, whole: whole)
      }
    }
    return number(from: start, whole: whole)
  }

  private func number(from start: Int, whole: Bool) -> FieldValue? {
    let digits = UnsafeBufferPointer(rebasing: bytes[start..<position])
    if whole, let integer = JSONValue.integer(utf8: digits) { return .integer(Int64(integer)) }
    let text = String(decoding: digits, as: UTF8.self)
    guard !text.isEmpty, Double(text) != nil else { return nil }
    if whole, digits.count > 18, let integer = Int64(text) { return .integer(integer) }
    return .number(text)
  }

  /// An object or array, kept as its compact text (the writer rendered it compact).
  private mutating func nested() -> FieldValue? {
    let start = position
    var depth = 0
    var inString = false
    while position < bytes.count {
      let byte = bytes[position]
      position += 1
      if inString {
        if byte == UInt8(ascii: "\\") {
          position += 1
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
        if depth == 0 { return .json(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)) }
      default: break
      }
    }
    return nil
  }

  /// A JSON string; one without escapes is copied once, one with escapes goes through the parser.
  private mutating func string() -> String? {
    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
    let start = position
    position += 1
    var escaped = false
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\\") {
        escaped = true
        position += 2
        continue
      }
      position += 1
      if byte == UInt8(ascii: "\"") {
        guard escaped else {
          return String(decoding: UnsafeBufferPointer(rebasing: bytes[start + 1..<position - 1]), as: UTF8.self)
        }
        guard case let .string(text)? = try? JSONValue.parse(utf8: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        else { return nil }
        return text
      }
    }
    return nil
  }

  /// Moves past `text` when the bytes there are exactly it.
  private mutating func skip(_ text: StaticString) -> Bool {
    skip(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  private mutating func skip(_ text: [UInt8]) -> Bool {
    text.withUnsafeBufferPointer { skip($0) }
  }

  private mutating func skip(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    guard position + text.count <= bytes.count,
      UnsafeBufferPointer(rebasing: bytes[position..<position + text.count]).elementsEqual(text)
    else { return false }
    position += text.count
    return true
  }
}
