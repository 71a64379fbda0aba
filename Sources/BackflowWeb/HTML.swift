/// HTML text built on the server: every value goes through `escape`, so a sync name, an error or a
/// row key can never become markup.
struct HTML {
  private(set) var text = ""

  /// `&`, `<`, `>`, `"` and `'` as entities: safe in element content and in quoted attributes.
  static func escape(_ value: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(value.utf8.count)
    for character in value.unicodeScalars {
      switch character {
      case "&": escaped += "&amp;"
      case "<": escaped += "&lt;"
      case ">": escaped += "&gt;"
      case "\"": escaped += "&quot;"
      case "'": escaped += "&#39;"
      default: escaped.unicodeScalars.append(character)
      }
    }
    return escaped
  }

  /// Markup written by this module, never a value.
  mutating func raw(_ markup: String) {
    text += markup
  }

  /// A value, escaped.
  mutating func text(_ value: String) {
    text += Self.escape(value)
  }

  /// `<tag attributes>value</tag>` with the value escaped.
  mutating func element(_ tag: String, _ value: String, class className: String? = nil) {
    let attribute = className.map { " class=\"\(Self.escape($0))\"" } ?? ""
    text += "<\(tag)\(attribute)>\(Self.escape(value))</\(tag)>"
  }

  /// A link; `href` is built by this module from escaped parts.
  mutating func link(_ href: String, _ value: String) {
    text += "<a href=\"\(Self.escape(href))\">\(Self.escape(value))</a>"
  }

  /// A table row of cells already rendered (`<td>…</td>` each).
  mutating func row(_ cells: [String]) {
    text += "<tr>" + cells.joined() + "</tr>\n"
  }

  static func cell(_ value: String, class className: String? = nil) -> String {
    let attribute = className.map { " class=\"\(escape($0))\"" } ?? ""
    return "<td\(attribute)>\(escape(value))</td>"
  }

  static func number(_ value: Int, class className: String? = nil) -> String {
    let style = value > 0 ? className.map { " \($0)" } ?? "" : ""
    return "<td class=\"num\(style)\">\(value)</td>"
  }

  static func linkCell(_ href: String, _ value: String) -> String {
    "<td><a href=\"\(escape(href))\">\(escape(value))</a></td>"
  }

  static func header(_ titles: [String], numeric: Set<String> = []) -> String {
    "<thead><tr>" + titles.map { numeric.contains($0) ? "<th class=\"num\">\(escape($0))</th>" : "<th>\(escape($0))</th>" }
      .joined() + "</tr></thead>\n"
  }

  /// A status word with its colour.
  static func status(_ status: String) -> String {
    "<span class=\"status \(escape(status))\">\(escape(status))</span>"
  }
}
