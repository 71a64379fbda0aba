import Yams

/// Reads typed, located values out of one file's YAML nodes, recording what is wrong instead of
/// throwing, so that every problem in every file is reported in one run.
final class NodeReader {
  let file: String
  let environment: [String: String]
  /// The kinds of sources and destinations, each decoding its own keys.
  let drivers: DriverCatalog
  private(set) var diagnostics = Diagnostics()
  /// backflow.yaml's `dbt:` and its manifest, for model files that say `dbt: NAME`.
  var dbt: DBTContext?

  init(file: String, environment: [String: String], drivers: DriverCatalog) {
    self.file = file
    self.environment = environment
    self.drivers = drivers
  }

  // MARK: Places

  func location(of node: Node) -> SourceLocation {
    let mark = node.mark
    return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
  }

  /// The end of a one-line scalar, so JSON diagnostics can underline the whole value.
  func end(of node: Node) -> SourceLocation {
    var end = location(of: node)
    if let scalar = node.scalar, !scalar.string.contains("\n") {
      let quotes = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 2 : 0
      end.column += scalar.string.unicodeScalars.count + quotes
    }
    return end
  }

  var fileStart: SourceLocation { SourceLocation(file: file, line: 1, column: 1) }

  func error(_ message: String, at node: Node) {
    diagnostics.error(message, at: location(of: node), end: end(of: node))
  }

  func error(_ message: String, at location: SourceLocation) {
    diagnostics.error(message, at: location)
  }

  func warning(_ message: String, at location: SourceLocation) {
    diagnostics.warning(message, at: location)
  }

  // MARK: Mappings

  /// The entries of a mapping, after reporting unknown keys (with "did you mean") and missing ones.
  /// `path` prefixes nested keys in messages ("batch.size"); `subject` names the mapping itself
  /// ("sync", "source \"warehouse\"") and defaults to the path.
  func fields(
    _ node: Node, path: String, subject: String? = nil, allowed: [String], required: [String] = []
  ) -> Fields? {
    let subject = subject ?? path
    guard let mapping = node.mapping else {
      error("\(subject) must be a mapping with keys \(allowed.joined(separator: ", ")), got \(kind(of: node))", at: node)
      return nil
    }
    var fields = Fields(path: path, location: location(of: node))
    for (key, value) in withMergeKeys(mapping) {
      guard let name = key.scalar?.string else {
        error("keys in \(subject) must be plain names", at: key)
        continue
      }
      guard allowed.contains(name) else {
        let hint = Suggestion.hint(for: name, in: allowed)
        error("unknown key \"\(name)\" in \(subject)\(hint)", at: key)
        continue
      }
      fields.entries.append(Fields.Entry(key: name, keyLocation: location(of: key), value: value))
    }
    for name in required where fields[name] == nil {
      error("\(subject) is missing required key \"\(name)\"", at: fields.location)
    }
    return fields
  }

  /// The pairs of `mapping` with YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) expanded:
  /// keys written in the mapping win over merged ones, and earlier merged mappings over later.
  private func withMergeKeys(_ mapping: Node.Mapping) -> [(Node, Node)] {
    var pairs = mapping.filter { $0.key.scalar?.string != "<<" }.map { ($0.key, $0.value) }
    var seen = Set(pairs.compactMap { $0.0.scalar?.string })
    for merge in mapping where merge.key.scalar?.string == "<<" {
      let sources = merge.value.sequence.map(Array.init) ?? [merge.value]
      for source in sources {
        guard let merged = source.mapping else {
          error("<< merges mappings, got \(kind(of: source))", at: source)
          continue
        }
        for pair in withMergeKeys(merged) where seen.insert(pair.0.scalar?.string ?? "").inserted {
          pairs.append(pair)
        }
      }
    }
    return pairs
  }

  /// A mapping whose keys are names the user chooses (sources, headers), in file order.
  func namedEntries(_ node: Node, path: String) -> [(name: Located<String>, value: Node)] {
    if isNull(node) { return [] }
    guard let mapping = node.mapping else {
      error("\(path) must be a mapping of names to settings, got \(kind(of: node))", at: node)
      return []
    }
    return mapping.compactMap { key, value in
      guard let name = key.scalar?.string, !isNull(key) else {
        error("names in \(path) must be plain strings", at: key)
        return nil
      }
      return (Located(name, at: location(of: key)), value)
    }
  }

  func list(_ node: Node, path: String) -> [Node]? {
    guard let sequence = node.sequence else {
      error("\(path) must be a list, got \(kind(of: node))", at: node)
      return nil
    }
    return Array(sequence)
  }

  // MARK: Scalars

  /// A string, with `${…}` resolved; an unset variable is named, never its value.
  ///
  /// Names, references and fixed choices pass `fromEnvironment: false`: a secret sync name or
  /// mode could not be shown in a plan, and nothing is gained by hiding it.
  func string(_ node: Node, path: String, fromEnvironment: Bool = true) -> Located<String>? {
    guard let scalar = node.scalar, !isNull(node) else {
      error("\(path) must be a string, got \(kind(of: node))", at: node)
      return nil
    }
    let resolved = Interpolation.resolve(scalar.string, environment: environment)
    if !fromEnvironment, resolved.isSecret {
      error("\(path) cannot read the environment: names, references and fixed choices are written out", at: node)
      return nil
    }
    if let problem = resolved.syntaxError {
      error("\(path): \(problem); write $${ for a literal ${", at: node)
      return nil
    }
    if !resolved.missingVariables.isEmpty {
      let names = resolved.missingVariables.map { "\"\($0)\"" }.joined(separator: ", ")
      let plural = resolved.missingVariables.count == 1 ? "variable" : "variables"
      error("\(path) reads environment \(plural) \(names), which is not set; set it or give a default with ${NAME:-default}", at: node)
      return nil
    }
    return Located(resolved.value, at: location(of: node), isSecret: resolved.isSecret, written: scalar.string)
  }

  /// A whole number, written plainly (a quoted "500" is a string, as JSON Schema sees it too).
  func integer(_ node: Node, path: String, minimum: Int) -> Located<Int>? {
    guard let text = plainScalar(node, path: path, expected: "a whole number") else { return nil }
    guard let number = Int(text.value) else {
      error("\(path) must be a whole number, got \(text.quotedForMessage)", at: node)
      return nil
    }
    guard number >= minimum else {
      error("\(path) must be at least \(minimum), got \(text.isSecret ? "a smaller value from the environment" : String(number))", at: node)
      return nil
    }
    return text.map { _ in number }
  }

  func boolean(_ node: Node, path: String) -> Located<Bool>? {
    guard let text = plainScalar(node, path: path, expected: "true or false") else { return nil }
    switch text.value.lowercased() {
    case "true", "yes", "on": return text.map { _ in true }
    case "false", "no", "off": return text.map { _ in false }
    default:
      error("\(path) must be true or false, got \(text.quotedForMessage)", at: node)
      return nil
    }
  }

  /// One of a closed set of words, with "did you mean" for near misses.
  func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
    _ node: Node, path: String, as: Choice.Type = Choice.self
  ) -> Located<Choice>? where Choice.RawValue == String {
    guard let text = string(node, path: path, fromEnvironment: false) else { return nil }
    if let value = Choice(rawValue: text.value) { return text.map { _ in value } }
    let allowed = Choice.allCases.map(\.rawValue)
    let hint = Suggestion.hint(for: text.value, in: allowed)
    error("\(path) must be one of \(allowed.joined(separator: ", ")), got \(text.quotedForMessage)\(hint)", at: node)
    return nil
  }

  /// Reports the value as invalid, phrased so that a secret is not shown.
  func invalid(_ text: Located<String>, at node: Node, _ path: String, _ problem: String) {
    error("\(path): \(problem), got \(text.quotedForMessage)", at: node)
  }

  func isNull(_ node: Node) -> Bool {
    guard let scalar = node.scalar, scalar.style == .plain || scalar.style == .any else { return false }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
  }

  func kind(of node: Node) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    case let .scalar(scalar):
      if isNull(node) { return "nothing" }
      if scalar.style == .plain || scalar.style == .any {
        return scalar.string.contains("${") ? "a value from the environment" : "\"\(scalar.string)\""
      }
      return "the string \"\(scalar.string)\""
    }
  }


  private func plainScalar(_ node: Node, path: String, expected: String) -> Located<String>? {
    guard let scalar = node.scalar, !isNull(node), scalar.style == .plain || scalar.style == .any else {
      error("\(path) must be \(expected), got \(kind(of: node))", at: node)
      return nil
    }
    return string(node, path: path)
  }
}

/// The recognised entries of one mapping, in file order.
struct Fields {
  struct Entry {
    var key: String
    var keyLocation: SourceLocation
    var value: Node
  }

  var path: String
  /// Where the mapping starts: missing keys are reported here.
  var location: SourceLocation
  var entries: [Entry] = []

  subscript(key: String) -> Node? { entries.first { $0.key == key }?.value }

  func keyLocation(_ key: String) -> SourceLocation? { entries.first { $0.key == key }?.keyLocation }

  func has(_ key: String) -> Bool { self[key] != nil }

  /// `path.key`, for messages about a nested value.
  func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
