import Foundation

/// A JSON document whose object keys keep the order they were written in, so documented output
/// formats read the same on every platform and run.
public indirect enum JSONValue: Sendable {
  case bool(Bool)
  case int(Int)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  /// Two-space indented, as people and `jq` both read it.
  public func rendered() -> String {
    var output = ""
    write(to: &output, indent: 0)
    return output
  }

  private func write(to output: inout String, indent: Int) {
    switch self {
    case let .bool(flag): output += flag ? "true" : "false"
    case let .int(number): output += String(number)
    case let .string(text): output += Self.quoted(text)
    case let .array(items):
      writeContainer(items.map { (nil, $0) }, open: "[", close: "]", to: &output, indent: indent)
    case let .object(members):
      writeContainer(members.map { ($0.0, $0.1) }, open: "{", close: "}", to: &output, indent: indent)
    }
  }

  private func writeContainer(
    _ items: [(String?, JSONValue)], open: String, close: String, to output: inout String, indent: Int
  ) {
    guard !items.isEmpty else {
      output += open + close
      return
    }
    output += open
    let inner = indent + 2
    for (index, (key, value)) in items.enumerated() {
      if index > 0 { output += "," }
      output += "\n" + String(repeating: " ", count: inner)
      if let key { output += Self.quoted(key) + ": " }
      value.write(to: &output, indent: inner)
    }
    output += "\n" + String(repeating: " ", count: indent) + close
  }

  static func quoted(_ text: String) -> String {
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
