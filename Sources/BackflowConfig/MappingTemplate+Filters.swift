import Foundation
import Stencil

extension MappingTemplate {
  /// Every filter a template may use. Liquid's names (`downcase`, `strip`) and the shorter ones
  /// people type first (`lower`, `trim`) mean the same.
  public static let filterNames = [
    "append", "base64", "boolean", "capitalize", "date", "default", "downcase", "json", "lower", "lstrip", "md5",
    "number", "prepend", "replace", "rstrip", "sha256", "string", "strip", "trim", "truncate", "upcase", "upper",
    "url_encode",
  ]

  /// Stencil with Backflow's filters only: Stencil's own tags and filters (`include`, `filter`,
  /// `now`) could read files, the clock or variables nobody can list, so they are left out.
  static func makeEnvironment() -> Environment {
    let filters = Extension()
    func text(_ name: String, _ transform: @escaping (String) -> String) {
      filters.registerFilter(name) { (value: Any?, arguments: [Any?]) throws -> Any? in
        try expect(name, arguments, count: 0...0, usage: name)
        return value.map { transform(templateText($0)) }
      }
    }
    text("lower") { $0.lowercased() }
    text("downcase") { $0.lowercased() }
    text("upper") { $0.uppercased() }
    text("upcase") { $0.uppercased() }
    text("capitalize") { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
    text("trim") { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    text("strip") { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    text("lstrip") { String($0.drop { $0.isWhitespace }) }
    text("rstrip") { String($0.reversed().drop { $0.isWhitespace }.reversed()) }

    text("url_encode") { $0.addingPercentEncoding(withAllowedCharacters: unreservedURLCharacters) ?? $0 }
    text("base64") { Data($0.utf8).base64EncodedString() }
    // Lowercase hex of the text's UTF-8 bytes: ad platforms match on hashed emails and phones.
    text("sha256") { SHA256.hex($0) }
    text("md5") { MD5.hex($0) }
    // The typed filters matter where a value keeps its JSON type (a request body's single
    // `{{ … }}`): Braze wants a string external_id even for a numeric key.
    filters.registerFilter("string") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("string", arguments, count: 0...0, usage: "string")
      return value.map(templateText)
    }
    filters.registerFilter("number") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("number", arguments, count: 0...0, usage: "number")
      guard let value else { return nil }
      if value is Int { return value }
      let text = templateText(value).trimmingCharacters(in: .whitespaces)
      if let integer = Int(text) { return integer }
      guard let number = Double(text), number.isFinite else {
        throw MappingTemplateError("number cannot read \(JSONValue.quoted(text)) as a number")
      }
      return number
    }
    filters.registerFilter("boolean") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("boolean", arguments, count: 0...0, usage: "boolean")
      guard let value else { return nil }
      if let flag = value as? Bool { return flag }
      switch templateText(value).trimmingCharacters(in: .whitespaces).lowercased() {
      case "true", "t", "yes", "y", "1": return true
      case "false", "f", "no", "n", "0", "": return false
      case let text: throw MappingTemplateError("boolean cannot read \(JSONValue.quoted(text)) as true or false")
      }
    }
    filters.registerFilter("json") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("json", arguments, count: 0...0, usage: "json")
      return JSONValue(templateValue: value).rendered(compact: true)
    }

    filters.registerFilter("default") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("default", arguments, count: 1...1, usage: "default: other_column or default: \"text\"")
      if let value, !(value is String && templateText(value).isEmpty) { return value }
      return arguments[0]
    }
    filters.registerFilter("append") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("append", arguments, count: 1...1, usage: "append: \" text\"")
      return (value.map(templateText) ?? "") + (arguments[0].map(templateText) ?? "")
    }
    filters.registerFilter("prepend") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("prepend", arguments, count: 1...1, usage: "prepend: \"text \"")
      return (arguments[0].map(templateText) ?? "") + (value.map(templateText) ?? "")
    }
    filters.registerFilter("replace") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("replace", arguments, count: 2...2, usage: "replace: \"old\", \"new\"")
      guard let value else { return nil }
      let old = arguments[0].map(templateText) ?? ""
      guard !old.isEmpty else { return templateText(value) }
      return templateText(value).replacingOccurrences(of: old, with: arguments[1].map(templateText) ?? "")
    }
    filters.registerFilter("truncate") { (value: Any?, arguments: [Any?]) throws -> Any? in
      let usage = "truncate: 50 or truncate: 50, \"…\""
      try expect("truncate", arguments, count: 1...2, usage: usage)
      let length = try arguments[0].map { argument in
        guard let length = Int(templateText(argument)), length >= 0 else {
          throw MappingTemplateError("truncate needs a length of 0 or more, e.g. \(usage); got \(templateText(argument))")
        }
        return length
      }
      guard let value, let length else { return value }
      let text = templateText(value)
      let ellipsis = arguments.count > 1 ? arguments[1].map(templateText) ?? "" : "..."
      guard text.count > length else { return text }
      return String(text.prefix(max(0, length - ellipsis.count))) + ellipsis
    }
    filters.registerFilter("date") { (value: Any?, arguments: [Any?]) throws -> Any? in
      try expect("date", arguments, count: 1...1, usage: "date: \"%Y-%m-%d\"")
      let format = arguments[0].map(templateText)
      if let format { try TemplateTimestamp.validate(format: format) }
      guard let value else { return nil }
      guard let format else { throw MappingTemplateError("date: the format is NULL") }
      let text = templateText(value)
      if text.isEmpty { return text }
      guard let timestamp = value is Int ? TemplateTimestamp(epoch: value as? Int ?? 0) : TemplateTimestamp(parsing: text)
      else {
        throw MappingTemplateError(
          "date cannot read \"\(text)\" as a date or timestamp; expected ISO 8601 text such as 2024-03-01, "
            + "2024-03-01 12:34:56+00 or 2024-03-01T12:34:56Z, or seconds since 1970")
      }
      return timestamp.formatted(format)
    }

    var environment = Environment(extensions: [filters])
    environment.extensions = [filters]
    return environment
  }

  private static func expect(_ name: String, _ arguments: [Any?], count: ClosedRange<Int>, usage: String) throws {
    guard !count.contains(arguments.count) else { return }
    let wanted =
      switch count.upperBound {
      case 0: "takes no argument"
      case 1: "takes one argument"
      case count.lowerBound: "takes \(count.lowerBound) arguments"
      default: "takes \(count.lowerBound) or \(count.upperBound) arguments"
      }
    throw MappingTemplateError("\(name) \(wanted) (\(usage)), got \(arguments.count)")
  }
}

/// RFC 3986's unreserved characters: everything else is percent-encoded by `url_encode`.
private let unreservedURLCharacters = CharacterSet(
  charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

/// A template value as text: strings as they are, numbers as printed, booleans as true/false.
func templateText(_ value: Any) -> String {
  switch value {
  case let text as String: text
  case let flag as Bool: flag ? "true" : "false"
  case let number as Int: String(number)
  case let other as CustomStringConvertible: other.description
  default: "\(value)"
  }
}
