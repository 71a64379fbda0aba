import Foundation

/// A JSON document whose object keys keep the order they were written in, so documented output
/// formats read the same on every platform and run.
public indirect enum JSONValue: Sendable, Equatable {
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
      a.count == b.count && a.allSatisfy { key, value in b.first { $0.0 == key }?.1 == value }
    default:
      // 1, 1.0 and "1" printed by a database are the same number.
      if let a = left.numericValue, let b = right.numericValue { a == b } else { false }
    }
  }

  private var numericValue: Double? {
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

extension JSONValue: Decodable {
  /// Reads any JSON; object keys come back sorted, since decoding does not keep their order.
  public init(from decoder: any Decoder) throws {
    if let container = try? decoder.container(keyedBy: AnyKey.self) {
      self = .object(
        try container.allKeys.map(\.stringValue).sorted().map { key in
          (key, try container.decode(JSONValue.self, forKey: AnyKey(stringValue: key)))
        })
      return
    }
    if var container = try? decoder.unkeyedContainer() {
      var items: [JSONValue] = []
      while !container.isAtEnd { items.append(try container.decode(JSONValue.self)) }
      self = .array(items)
      return
    }
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let flag = try? container.decode(Bool.self) {
      self = .bool(flag)
    } else if let number = try? container.decode(Int.self) {
      self = .int(number)
    } else if let number = try? container.decode(Double.self) {
      self = .double(number)
    } else {
      self = .string(try container.decode(String.self))
    }
  }

  /// Parses a JSON document.
  public static func parse(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
  }

  private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
}

extension JSONValue {
  /// Any `Encodable` as a JSON tree, keys sorted: the canonical form of config.
  public init(encoding value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    self = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
  }
}
