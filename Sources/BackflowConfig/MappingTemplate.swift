import Stencil

/// A mapping's `template:` text, parsed once and rendered for every row: Liquid-style
/// `{{ column }}` placeholders with `|` filters (`{{ nickname | default: first_name }}`), and the
/// blocks `{% for %}` and `{% if %}`, as Hightouch and Census users write them. Output tags are
/// parsed and rendered by Stencil; the blocks are Backflow's own (`MappingTemplate+Blocks.swift`),
/// so every variable inside them is checked with the rest, and the filters too
/// (`MappingTemplate+Filters.swift`).
///
/// Blocks never make the columns a template reads depend on the data: every branch's and every
/// loop's variables count, taken or not, so the CDC fingerprint covers them all.
public struct MappingTemplate: @unchecked Sendable {
  // @unchecked: Stencil's nodes are classes without Sendable conformances, but they are built
  // once here and only read afterwards; every render makes its own Context.

  /// The template as written.
  public let text: String
  /// The model columns the template reads, in order of first use: each `{{ variable }}`, each
  /// variable passed to a filter, each list a `{% for %}` walks and each value an `{% if %}`
  /// tests. `user.email` reads `user`; literals and loop variables read nothing of their own.
  public let columns: [String]
  /// Every variable the template reads, as steps, in order of first use, a loop variable written
  /// as the list it walks followed by `[]`: `{% for r in records %}{{ r.row.email }}{% endfor %}`
  /// reads `records`, `[]`, `row`, `email`.
  public let paths: [[String]]
  /// The lists `{% for %}` loops walk, as steps, apart from `paths`: walking `records` reads
  /// only what the loop reads of each record.
  public let lists: [[String]]

  private let pieces: [Piece]
  private let environment: Environment
  /// The names a render's Stencil context holds: the columns, loop variables and `forloop`.
  private let contextNames: [String]
  /// Whether the template is exactly one `{{ … }}`, whose value keeps its JSON type (`value(_:)`).
  private let singleTag: Bool
  /// The steps of a single `{{ a.b.c }}` without filters, read straight from the JSON values.
  private let plainPath: [String]?

  /// What a parsed template renders, with where its tag starts for messages about a row that
  /// does not render. Text and bare `{{ column }}` tags, most of what templates hold, are
  /// rendered directly: Stencil re-parses a variable's key path on every resolve, which made
  /// `{{ first_name }} {{ last_name }}` cost about 4 µs a row (docs/decisions.md).
  struct Piece {
    indirect enum Kind {
      case text(String)
      case column(String)
      case node(NodeType)
      case loop(Loop)
      /// `{% if %}`, its `elsif`s and `else` (a `nil` condition), in order.
      case branches([(condition: Condition?, body: [Piece])])
    }

    var kind: Kind
    var at: Tag?
  }

  /// Parses `text`; throws a `MappingTemplateError` that says what is wrong and where. With
  /// `variables`, the template may read only those names (a request template's context) and an
  /// unknown one is an error with "did you mean"; without, any column name.
  public init(_ text: String, variables: [String]? = nil) throws {
    self.text = text
    environment = Self.makeEnvironment()
    var parser = try BlockParser(text: text, environment: environment, variables: variables)
    let tokens = parser.tokens
    pieces = try parser.parseAll()
    columns = parser.columns
    paths = parser.paths
    lists = parser.lists
    contextNames = parser.columns + parser.loopNames
    singleTag = pieces.count == 1 && tokens.count == 1 && tokens[0].kind == .variable
    if singleTag, case .node = pieces[0].kind, tokens[0].components.count == 1, !tokens[0].contents.contains("|"),
      Self.column(of: tokens[0].contents.trimmingCharacters(in: .whitespaces)) != nil
    {
      plainPath = tokens[0].contents.trimmingCharacters(in: .whitespaces).split(separator: ".").map(String.init)
    } else {
      plainPath = nil
    }
    // Filters check their arguments before their input, so rendering each output tag and each
    // block's values over NULLs finds a missing or malformed argument (`date` without a format)
    // now rather than on every row, inside loops and untaken branches too.
    try Self.checkArguments(pieces, Context(dictionary: [:], environment: environment))
  }

  private static func checkArguments(_ pieces: [Piece], _ empty: Context) throws {
    for piece in pieces {
      do {
        switch piece.kind {
        case .text, .column: break
        case let .node(node): _ = try node.render(empty)
        case let .loop(loop):
          _ = try loop.list.value(in: [:]) { empty }
          try checkArguments(loop.body, empty)
          try checkArguments(loop.empty, empty)
        case let .branches(branches):
          for branch in branches {
            _ = try branch.condition?.holds(in: [:]) { empty }
            try checkArguments(branch.body, empty)
          }
        }
      } catch let error as MappingTemplateError where error.line == nil {
        throw MappingTemplateError(error.message, at: piece.at)
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(Self.message(for: error), at: piece.at)
      }
    }
  }

  /// The template filled in from `row` (model column → value). NULL renders as "", numbers as
  /// the database printed them, booleans as true and false. The result is not trimmed.
  public func render(_ row: [String: JSONValue]) throws -> String {
    var output = ""
    try render(pieces, row, into: &output)
    return output
  }

  private func render(_ pieces: [Piece], _ scope: [String: JSONValue], into output: inout String) throws {
    var context: Context?
    func stencil() -> Context {
      if let context { return context }
      let made = self.context(scope)
      context = made
      return made
    }
    for piece in pieces {
      do {
        switch piece.kind {
        case let .text(text):
          output += text
        case let .column(name):
          if let value = scope[name]?.templateValue { output += templateText(value) }
        case let .node(node):
          output += try node.render(stencil())
        case let .loop(loop):
          let items = try loop.items(in: scope, stencil)
          if items.isEmpty {
            try render(loop.empty, scope, into: &output)
            continue
          }
          var inner = scope
          for (index, item) in items.enumerated() {
            inner[loop.variable] = item
            inner["forloop"] = Loop.forloop(index: index, count: items.count)
            try render(loop.body, inner, into: &output)
          }
        case let .branches(branches):
          for branch in branches {
            if let condition = branch.condition, try !condition.holds(in: scope, stencil) { continue }
            try render(branch.body, scope, into: &output)
            break
          }
        }
      } catch let error as MappingTemplateError where error.line == nil {
        throw MappingTemplateError(error.message, at: piece.at)
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(Self.message(for: error), at: piece.at)
      }
    }
  }

  /// The value of a template that is exactly one `{{ … }}`, keeping its JSON type (a number,
  /// an object, null) where `render` would print it; `nil` for any other template. A request
  /// body's `"{{ record.fields.properties }}"` stays an object this way.
  public func value(_ row: [String: JSONValue]) throws -> JSONValue? {
    guard singleTag, let piece = pieces.first else { return nil }
    switch piece.kind {
    case .text, .loop, .branches: return nil
    case let .column(name): return row[name] ?? .null
    case let .node(node):
      if let plainPath, let first = plainPath.first {
        return plainPath.dropFirst().reduce(row[first] ?? .null) { $0.member($1) ?? .null }
      }
      guard let variable = node as? VariableNode else { return nil }
      do {
        return JSONValue(templateValue: try variable.variable.resolve(context(row)))
      } catch let error as MappingTemplateError {
        throw MappingTemplateError(error.message, at: piece.at)
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(Self.message(for: error), at: piece.at)
      }
    }
  }

  /// The values Stencil reads: the columns, and inside a loop its variable and `forloop`.
  private func context(_ scope: [String: JSONValue]) -> Context {
    var values: [String: Any] = [:]
    for name in contextNames {
      if let value = scope[name]?.templateValue { values[name] = value }
    }
    return Context(dictionary: values, environment: environment)
  }
}

/// Why a template does not parse or a row does not render.
public struct MappingTemplateError: Error, CustomStringConvertible, Sendable {
  /// Lower-case, no trailing period, as diagnostics are written.
  public var message: String
  /// 1-based line and column inside the template of the tag at fault, when known.
  public var line: Int?
  public var column: Int?

  public init(_ message: String, line: Int? = nil, column: Int? = nil) {
    self.message = message
    self.line = line
    self.column = column
  }

  init(_ message: String, at tag: MappingTemplate.Tag?) {
    self.init(message, line: tag?.line, column: tag?.column)
  }

  public var description: String { message }
}

extension MappingTemplate {
  /// Where a `{{`, `{%` or `{#` opens in the text.
  struct Tag {
    var line: Int
    var column: Int
    /// `{%-`: the text before the tag loses its trailing whitespace.
    var trimsBefore = false
    /// `-%}`: the text after the tag loses its leading whitespace.
    var trimsAfter = false
  }

  private static let closing: [Character: String] = ["{": "}}", "%": "%}", "#": "#}"]

  /// Every tag of `text` in order, with where it starts; a tag that is never closed is an error
  /// (Stencil would drop it and the rest of the text silently).
  static func tags(in text: String) throws -> [Tag] {
    var tags: [Tag] = []
    var line = 1
    var column = 1
    var index = text.startIndex
    func advance(to end: String.Index) {
      for character in text[index..<end] {
        if character == "\n" || character == "\r\n" {
          line += 1
          column = 1
        } else {
          column += character.unicodeScalars.count
        }
      }
      index = end
    }
    while let open = text[index...].firstRange(of: "{"), open.lowerBound < text.endIndex {
      let kindIndex = text.index(after: open.lowerBound)
      guard kindIndex < text.endIndex, let close = closing[text[kindIndex]] else {
        advance(to: kindIndex)
        continue
      }
      advance(to: open.lowerBound)
      var tag = Tag(line: line, column: column)
      let opening = "{" + String(text[kindIndex])
      let inside = text.index(after: kindIndex)
      guard let end = text[inside...].firstRange(of: close) else {
        throw MappingTemplateError("\(opening) is not closed; end it with \(close)", at: tag)
      }
      if opening == "{%" {
        tag.trimsBefore = text[inside...].hasPrefix("-")
        tag.trimsAfter = end.lowerBound > inside && text[text.index(before: end.lowerBound)] == "-"
      }
      tags.append(tag)
      advance(to: end.upperBound)
    }
    return tags
  }

  /// Stencil's message in diagnostic style: lower-case, no trailing period, our filter names.
  static func message(for error: TemplateSyntaxError) -> String {
    var reason = error.reason
    if reason.hasPrefix("Unknown filter '"), let name = reason.split(separator: "'").dropFirst().first {
      let hint = Suggestion.hint(for: String(name), in: filterNames)
      return "unknown filter \"\(name)\"\(hint); filters are \(filterNames.joined(separator: ", "))"
    }
    while reason.hasSuffix(".") { reason.removeLast() }
    guard let first = reason.first else { return "the template does not parse" }
    return first.lowercased() + reason.dropFirst()
  }

  /// The template variables inside a parsed node or expression: Stencil keeps them in internal
  /// types, so they are found by reflection rather than by scanning the text a second time.
  static func variables(in node: Any) -> [String] {
    var found: [String] = []
    func visit(_ value: Any, depth: Int) {
      guard depth < 16 else { return }
      if let variable = value as? Variable {
        found.append(variable.variable)
        return
      }
      if value is Token || value is String { return }
      // A filter expression keeps its filters before its variable; the variable is read first.
      let children = Mirror(reflecting: value).children
      for child in children where child.label == "variable" { visit(child.value, depth: depth + 1) }
      for child in children where child.label != "variable" { visit(child.value, depth: depth + 1) }
    }
    visit(node, depth: 0)
    return found
  }

  /// What Stencil reads as a literal rather than a variable: quoted text, numbers, true/false.
  static func isLiteral(_ variable: String) -> Bool {
    if variable.count > 1, let first = variable.first, first == "\"" || first == "'", variable.last == first { return true }
    return Int(variable) != nil || Float(variable) != nil || Bool(variable) != nil
  }

  /// The column a variable reads: the first step of `user.email`; nil when it is not a name.
  static func column(of variable: String) -> String? {
    let steps = variable.split(separator: ".", omittingEmptySubsequences: false)
    func isName(_ step: Substring) -> Bool {
      guard let first = step.first, first.isLetter || first == "_" else { return false }
      return step.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
    guard let first = steps.first, isName(first),
      steps.dropFirst().allSatisfy({ isName($0) || (!$0.isEmpty && $0.allSatisfy(\.isNumber)) })
    else { return nil }
    return String(first)
  }
}

extension JSONValue {
  /// The value as a template sees it: nil for NULL, text for numbers as printed.
  var templateValue: Any? {
    switch self {
    case .null: nil
    case let .bool(flag): flag
    case let .int(number): number
    case .double: rendered(compact: true)
    case let .number(text): text
    case let .string(text): text
    case .array, .object: TemplateJSON(self)
    }
  }

  /// A value back from a template (`templateValue`, or what a filter returned) as JSON.
  init(templateValue value: Any?) {
    switch value {
    case nil: self = .null
    case let json as TemplateJSON: self = json.value
    case let flag as Bool: self = .bool(flag)
    case let number as Int: self = .int(number)
    case let number as Double: self = .double(number)
    case let text as String: self = .string(text)
    case let value?: self = .string(templateText(value))
    }
  }

  /// The member of an object (`name`) or the item of an array (`0`, also `size`, `first`,
  /// `last`), as templates read them.
  func member(_ step: String) -> JSONValue? {
    switch self {
    case let .object(members): return members.first { $0.0 == step }?.1
    case let .array(items):
      if step == "size" || step == "count" { return .int(items.count) }
      if step == "first" { return items.first }
      if step == "last" { return items.last }
      guard let index = Int(step), items.indices.contains(index) else { return nil }
      return items[index]
    default: return nil
    }
  }
}

/// A JSON array or object in a template: members by `.name` (or `.0`), printed as compact JSON.
final class TemplateJSON: DynamicMemberLookup, CustomStringConvertible {
  let value: JSONValue

  init(_ value: JSONValue) {
    self.value = value
  }

  subscript(dynamicMember member: String) -> Any? {
    value.member(member)?.templateValue
  }

  var description: String { value.rendered(compact: true) }
}
