/// The model columns a mapping template reads: the variable of each `{{ … }}` and any variable
/// passed to a filter (`{{ nickname | default: first_name }}` reads both).
enum TemplateColumns {
  static func names(in template: String) -> [String] {
    var names: [String] = []
    var rest = Substring(template)
    while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
      let expression = rest[open.upperBound..<close.lowerBound]
      for (index, part) in expression.split(separator: "|").enumerated() {
        if index == 0 {
          names += variable(part).map { [$0] } ?? []
        } else if let colon = part.firstIndex(of: ":") {
          names += part[part.index(after: colon)...].split(separator: ",").compactMap(variable)
        }
      }
      rest = rest[close.upperBound...]
    }
    var seen = Set<String>()
    return names.filter { seen.insert($0).inserted }
  }

  /// The column an operand names: `user.email` reads `user`; literals name none.
  private static func variable(_ operand: Substring) -> String? {
    let text = operand.trimmingPrefix(while: \.isWhitespace)
    guard let first = text.first, first.isLetter || first == "_" else { return nil }
    let name = String(text.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
    return ["true", "false", "nil", "null"].contains(name) ? nil : name
  }
}
