import Foundation

/// A JSON document whose object keys keep the order they were written in, so documented output
/// formats read the same on every platform and run.
///
/// Not `indirect`: arrays and objects already hold their elements on the heap, and an indirect
/// enum would box every string and number too (a plan file's rows are parsed into these).
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  /// A number kept as the text a database printed (`numeric` has more digits than a Double).
  case number(String)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  /// Two-space indented, as people and `jq` both read it; `compact` is one line, for JSON Lines
  /// and hashing.
  public func rendered(compact: Bool = false) -> String {
    var output = ""
    write(to: &output, indent: compact ? nil : 0)
    return output
  }

  /// The member named `key` of an object.
  public subscript(key: String) -> JSONValue? {
    guard case let .object(members) = self else { return nil }
    return members.first { $0.0 == key }?.1
  }

  public static func == (left: JSONValue, right: JSONValue) -> Bool {
    switch (left, right) {
    case (.null, .null): true
    case let (.bool(a), .bool(b)): a == b
    case let (.string(a), .string(b)): a == b
    case let (.array(a), .array(b)): a == b
    case let (.object(a), .object(b)):
      // In any order, each name's first member, as `subscript` reads it: a name written twice
      // (fuzzing found one) must not make a value unequal to itself.
      a.allSatisfy { name, _ in left[name] == right[name] } && b.allSatisfy { name, _ in left[name] != nil }
    default:
      // 1, 1.0 and "1" printed by a database are the same number.
      if let a = left.numericValue, let b = right.numericValue { a == b } else { false }
    }
  }

  /// The value as a number when it is one, whatever its JSON spelling.
  var numericValue: Double? {
    switch self {
    case let .int(number): Double(number)
    case let .double(number): number
    case let .number(text): Double(text)
    default: nil
    }
  }

  private func write(to output: inout String, indent: Int?) {
    switch self {
    case .null: output += "null"
    case let .bool(flag): output += flag ? "true" : "false"
    case let .int(number): output += String(number)
    case let .double(number):
      // Whole numbers print without ".0", as YAML and JSON writers do.
      if number.rounded() == number, abs(number) < 1e15 { output += String(Int(number)) } else { output += "\(number)" }
    case let .number(text): output += text
    case let .string(text): output += Self.quoted(text)
    case let .array(items):
      writeContainer(items.map { (nil, $0) }, open: "[", close: "]", to: &output, indent: indent)
    case let .object(members):
      writeContainer(members.map { ($0.0, $0.1) }, open: "{", close: "}", to: &output, indent: indent)
    }
  }

  private func writeContainer(
    _ items: [(String?, JSONValue)], open: String, close: String, to output: inout String, indent: Int?
  ) {
    guard !items.isEmpty else {
      output += open + close
      return
    }
    output += open
    let inner = indent.map { $0 + 2 }
    for (index, (key, value)) in items.enumerated() {
      if index > 0 { output += "," }
      if let inner { output += "\n" + String(repeating: " ", count: inner) }
      if let key { output += Self.quoted(key) + (inner == nil ? ":" : ": ") }
      value.write(to: &output, indent: inner)
    }
    if let indent { output += "\n" + String(repeating: " ", count: indent) }
    output += close
  }

  public static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20:
        result += String(format: "\\u%04x", scalar.value)
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}

extension JSONValue {
  /// Any `Encodable` as a JSON tree, keys sorted: the canonical form of config.
  public init(encoding value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    self = try JSONValue.parse(String(decoding: try encoder.encode(value), as: UTF8.self))
  }

  /// Reads a JSON document. Object members keep the order they were written in; a number that is
  /// not a whole number fitting `Int` keeps its text (`.number`), so no digit is lost.
  public static func parse(_ text: String) throws -> JSONValue {
    var text = text
    return try text.withUTF8 { try parse(utf8: $0) }
  }

  /// Reads a JSON document from its UTF-8 bytes.
  public static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    let value = try parser.value()
    parser.skipSpace()
    guard parser.position == bytes.count else { throw parser.failure("unexpected text after the value") }
    return value
  }
}

/// Why a JSON document could not be read, with the byte offset.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// A recursive-descent JSON reader over UTF-8 bytes: plan files hold one document per row, so
/// this runs once per row and must not allocate more than the values it returns.
private struct JSONParser {
  let bytes: UnsafeBufferPointer<UInt8>
  var position = 0

  init(bytes: UnsafeBufferPointer<UInt8>) {
    self.bytes = bytes
  }

  func failure(_ message: String) -> JSONParseError {
    JSONParseError(description: "invalid JSON at byte \(position): \(message)")
  }

  mutating func skipSpace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x0A, 0x0D, 0x09: position += 1
      default: return
      }
    }
  }

  mutating func value() throws -> JSONValue {
    skipSpace()
    guard position < bytes.count else { throw failure("the document ends early") }
    switch bytes[position] {
    case UInt8(ascii: "{"):
      position += 1
      var members: [(String, JSONValue)] = []
      skipSpace()
      if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
        position += 1
        return .object(members)
      }
      // One allocation for a plan file's rows and fields rather than one per doubling.
      members.reserveCapacity(8)
      while true {
        skipSpace()
        let key = try string()
        skipSpace()
        try expect(UInt8(ascii: ":"))
        members.append((key, try value()))
        skipSpace()
        if try separator(closing: UInt8(ascii: "}")) { return .object(members) }
      }
    case UInt8(ascii: "["):
      position += 1
      var items: [JSONValue] = []
      skipSpace()
      if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
        position += 1
        return .array(items)
      }
      while true {
        items.append(try value())
        skipSpace()
        if try separator(closing: UInt8(ascii: "]")) { return .array(items) }
      }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    default: return try number()
    }
  }

  /// After a member or item: `true` at the closing bracket, `false` after a comma.
  private mutating func separator(closing: UInt8) throws -> Bool {
    guard position < bytes.count else { throw failure("the document ends early") }
    defer { position += 1 }
    if bytes[position] == closing { return true }
    if bytes[position] == UInt8(ascii: ",") { return false }
    throw failure("expected , or \(Character(UnicodeScalar(closing)))")
  }

  private mutating func expect(_ byte: UInt8) throws {
    guard position < bytes.count, bytes[position] == byte else {
      throw failure("expected \(Character(UnicodeScalar(byte)))")
    }
    position += 1
  }

  private mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
    let count = word.utf8CodeUnitCount
    guard position + count <= bytes.count,
      UnsafeBufferPointer(rebasing: bytes[position..<position + count]).elementsEqual(
        UnsafeBufferPointer(start: word.utf8Start, count: count))
    else { throw failure("unknown literal") }
    position += count
    return value
  }

  private mutating func number() throws -> JSONValue {
    let start = position
    var whole = true
    while position < bytes.count {
      let byte = bytes[position]
      if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") || byte == UInt8(ascii: "-") {
        position += 1
      } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        || byte == UInt8(ascii: "+")
      {
        whole = false
        position += 1
      } else {
        break
      }
    }
    let digits = UnsafeBufferPointer(rebasing: bytes[start..<position])
    if whole, let integer = JSONValue.integer(utf8: digits) { return .int(integer) }
    let text = String(decoding: digits, as: UTF8.self)
    guard !text.isEmpty, Double(text) != nil else { throw failure("expected a value") }
    if whole, digits.count > 18, let integer = Int(text) { return .int(integer) }
    return .number(text)
  }

  private mutating func string() throws -> String {
    try expect(UInt8(ascii: "\""))
    let start = position
    // The common case, no escapes: one copy of the bytes.
    while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
      position += 1
    }
    guard position < bytes.count else { throw failure("unterminated string") }
    var scalars = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    if bytes[position] == UInt8(ascii: "\"") {
      position += 1
      return scalars
    }
    var utf8: [UInt8] = []
    while position < bytes.count {
      let byte = bytes[position]
      position += 1
      switch byte {
      case UInt8(ascii: "\""):
        scalars += String(decoding: utf8, as: UTF8.self)
        return scalars
      case UInt8(ascii: "\\"):
        guard position < bytes.count else { throw failure("unterminated string") }
        let escape = bytes[position]
        position += 1
        switch escape {
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar), position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
            bytes[position + 1] == UInt8(ascii: "u")
          {
            let next = position
            position += 2
            let low = try hex4()
            if (0xDC00..<0xE000).contains(low) {
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else {
              // A high surrogate without its low half (found by fuzzing: the sum overflowed) is
              // replaced, as a lone one is; the next escape is read on its own.
              position = next
            }
          }
          utf8.append(contentsOf: String(UnicodeScalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
        default: utf8.append(escape)  // \" \\ \/
        }
      default:
        utf8.append(byte)
      }
    }
    throw failure("unterminated string")
  }

  private mutating func hex4() throws -> UInt32 {
    guard position + 4 <= bytes.count,
      let value = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<position + 4]), as: UTF8.self), radix: 16)
    else { throw failure("bad \\u escape") }
    position += 4
    return value
  }
}

extension JSONValue {
  /// `-?[0-9]+` that fits `Int`, read without making a string: what `Int(text)` accepts of JSON's
  /// whole numbers (it also takes leading zeros, which `Double` does too), less a negative zero,
  /// which stays a number so that a float's `-0` keeps its sign.
  public static func integer(utf8 digits: UnsafeBufferPointer<UInt8>) -> Int? {
    guard !digits.isEmpty, digits.count <= 18 else { return nil }
    let negative = digits[0] == UInt8(ascii: "-")
    var index = negative ? 1 : 0
    guard index < digits.count else { return nil }
    var value = 0
    while index < digits.count {
      let digit = digits[index] &- UInt8(ascii: "0")
      guard digit < 10 else { return nil }
      value = value * 10 + Int(digit)
      index += 1
    }
    if negative, value == 0 { return nil }
    return negative ? -value : value
  }
}

extension JSONValue {
  /// Sets the member at `path`, making the objects on the way; a non-object on the way is
  /// replaced.
  public mutating func set(_ value: JSONValue, at path: [String]) {
    guard let first = path.first else {
      self = value
      return
    }
    var members: [(String, JSONValue)] = []
    if case let .object(existing) = self { members = existing }
    if let index = members.firstIndex(where: { $0.0 == first }) {
      members[index].1.set(value, at: Array(path.dropFirst()))
    } else {
      var child: JSONValue = .object([])
      child.set(value, at: Array(path.dropFirst()))
      members.append((first, child))
    }
    self = .object(members)
  }
}
