import Stencil

/// A mapping's `template:` text, parsed once and rendered for every row: Liquid-style
/// `{{ column }}` placeholders with `|` filters (`{{ nickname | default: first_name }}`), as
/// Hightouch and Census users write them. Parsing and rendering are Stencil's; the filters are
/// Backflow's own (`MappingTemplate+Filters.swift`).
///
/// Only output tags and `{# comments #}` are allowed: block tags (`{% if %}`, `{% include %}`)
/// would make the columns a template reads, and so the CDC fingerprint, depend on the data.
public struct MappingTemplate: @unchecked Sendable {
  // @unchecked: Stencil's nodes are classes without Sendable conformances, but they are built
  // once here and only read afterwards; every render makes its own Context.

  /// The template as written.
  public let text: String
  /// The model columns the template reads, in order of first use: each `{{ variable }}` and each
  /// variable passed to a filter. `user.email` reads `user`; literals read nothing.
  public let columns: [String]

  private let pieces: [Piece]
  /// Where each piece's tag starts, for messages about a row that does not render.
  private let positions: [Tag?]
  private let environment: Environment
  /// Whether any piece needs Stencil at render time (filters, members).
  private let needsContext: Bool
  /// Whether the template is exactly one `{{ … }}`, whose value keeps its JSON type (`value(_:)`).
  private let singleTag: Bool
  /// The steps of a single `{{ a.b.c }}` without filters, read straight from the JSON values.
  private let plainPath: [String]?

  /// What a parsed node renders. Text and bare `{{ column }}` tags, most of what templates hold,
  /// are rendered directly: Stencil re-parses a variable's key path on every resolve, which made
  /// `{{ first_name }} {{ last_name }}` cost about 4 µs a row (docs/decisions.md).
  private enum Piece {
    case text(String)
    case column(String)
    case node(NodeType)
  }

  /// Parses `text`; throws a `MappingTemplateError` that says what is wrong and where. With
  /// `variables`, the template may read only those names (a request template's context) and an
  /// unknown one is an error with "did you mean"; without, any column name.
  public init(_ text: String, variables: [String]? = nil) throws {
    self.text = text
    let tags = try Self.tags(in: text)
    environment = Self.makeEnvironment()
    let tokens = Template(templateString: text, environment: environment).tokens
    // Stencil's tokens for tags come in the same order as `tags`, which know their positions.
    var tagIndex = 0
    var pieces: [Piece] = []
    var positions: [Tag?] = []
    var columns: [String] = []
    for token in tokens {
      var tag: Tag?
      if token.kind != .text, tagIndex < tags.count {
        tag = tags[tagIndex]
        tagIndex += 1
      }
      switch token.kind {
      case .block:
        throw MappingTemplateError(
          "tags such as {% \(token.components.first ?? "") %} are not supported in mapping templates; "
            + "use {{ column }} with filters, e.g. {{ nickname | default: first_name }}", at: tag)
      case .variable:
        if token.contents.allSatisfy(\.isWhitespace) {
          throw MappingTemplateError("{{ }} is empty; put a column name in it, e.g. {{ email }}", at: tag)
        }
        if token.components.count != 1 {
          throw MappingTemplateError(
            "{{ \(token.contents) }} is not a column with filters; write {{ column }} or {{ column | filter: argument }}",
            at: tag)
        }
      case .text, .comment: break
      }
      // One token at a time, so an error belongs to the tag being parsed (Stencil reports some
      // errors against a token it makes up, with no position in our text).
      let parsed: [NodeType]
      do {
        parsed = try TokenParser(tokens: [token], environment: environment).parse()
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(Self.message(for: error), at: tag)
      }
      for node in parsed {
        for variable in Self.variables(in: node) where !Self.isLiteral(variable) {
          guard let column = Self.column(of: variable) else {
            throw MappingTemplateError(
              "\"\(variable)\" is not a column name; columns are letters, digits and _, and a dot reads a member (user.email)",
              at: tag)
          }
          if let variables, !variables.contains(column) {
            throw MappingTemplateError(
              "unknown variable \"\(column)\"\(Suggestion.hint(for: column, in: variables)); "
                + "the variables are \(variables.joined(separator: ", "))", at: tag)
          }
          if !columns.contains(column) { columns.append(column) }
        }
        if let text = node as? TextNode, text.trimBehaviour == .nothing {
          pieces.append(.text(text.text))
        } else if node is VariableNode, let contents = token.components.first, contents == token.contents,
          !Self.isLiteral(contents), Self.column(of: contents) == contents
        {
          pieces.append(.column(contents))
        } else {
          pieces.append(.node(node))
        }
        positions.append(tag)
      }
    }
    self.pieces = pieces
    self.positions = positions
    singleTag = pieces.count == 1 && tokens.count == 1 && tokens[0].kind == .variable
    if singleTag, case .node = pieces[0], tokens[0].components.count == 1, !tokens[0].contents.contains("|"),
      Self.column(of: tokens[0].contents.trimmingCharacters(in: .whitespaces)) != nil
    {
      plainPath = tokens[0].contents.trimmingCharacters(in: .whitespaces).split(separator: ".").map(String.init)
    } else {
      plainPath = nil
    }
    needsContext = pieces.contains { if case .node = $0 { true } else { false } }
    self.columns = columns
    // Filters check their arguments before their input, so rendering a row of NULLs finds a
    // missing or malformed argument (`date` without a format) now rather than on every row.
    _ = try render([:])
  }

  /// The template filled in from `row` (model column → value). NULL renders as "", numbers as
  /// the database printed them, booleans as true and false. The result is not trimmed.
  public func render(_ row: [String: JSONValue]) throws -> String {
    let context = needsContext ? self.context(row) : nil
    var output = ""
    for (piece, position) in zip(pieces, positions) {
      switch piece {
      case let .text(text):
        output += text
      case let .column(name):
        if let value = row[name]?.templateValue { output += templateText(value) }
      case let .node(node):
        guard let context else { continue }
        do {
          output += try node.render(context)
        } catch let error as MappingTemplateError {
          throw MappingTemplateError(error.message, at: position)
        } catch let error as TemplateSyntaxError {
          throw MappingTemplateError(Self.message(for: error), at: position)
        }
      }
    }
    return output
  }

  /// The value of a template that is exactly one `{{ … }}`, keeping its JSON type (a number,
  /// an object, null) where `render` would print it; `nil` for any other template. A request
  /// body's `"{{ record.fields.properties }}"` stays an object this way.
  public func value(_ row: [String: JSONValue]) throws -> JSONValue? {
    guard singleTag, let piece = pieces.first else { return nil }
    switch piece {
    case .text: return nil
    case let .column(name): return row[name] ?? .null
    case let .node(node):
      if let plainPath, let first = plainPath.first {
        return plainPath.dropFirst().reduce(row[first] ?? .null) { $0.member($1) ?? .null }
      }
      guard let variable = node as? VariableNode else { return nil }
      do {
        return JSONValue(templateValue: try variable.variable.resolve(context(row)))
      } catch let error as MappingTemplateError {
        throw MappingTemplateError(error.message, at: positions.first ?? nil)
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(Self.message(for: error), at: positions.first ?? nil)
      }
    }
  }

  /// The columns' values as Stencil reads them.
  private func context(_ row: [String: JSONValue]) -> Context {
    var values: [String: Any] = [:]
    for column in columns {
      if let value = row[column]?.templateValue { values[column] = value }
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
  }

  private static let closing: [Character: String] = ["{": "}}", "%": "%}", "#": "#}"]

  /// Every tag of `text` in order, with where it starts; a tag that is never closed is an error
  /// (Stencil would drop it and the rest of the text silently).
  private static func tags(in text: String) throws -> [Tag] {
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
      let tag = Tag(line: line, column: column)
      let opening = "{" + String(text[kindIndex])
      guard let end = text[text.index(after: kindIndex)...].firstRange(of: close) else {
        throw MappingTemplateError("\(opening) is not closed; end it with \(close)", at: tag)
      }
      tags.append(tag)
      advance(to: end.upperBound)
    }
    return tags
  }

  /// Stencil's message in diagnostic style: lower-case, no trailing period, our filter names.
  private static func message(for error: TemplateSyntaxError) -> String {
    var reason = error.reason
    if reason.hasPrefix("Unknown filter '"), let name = reason.split(separator: "'").dropFirst().first {
      let hint = Suggestion.hint(for: String(name), in: filterNames)
      return "unknown filter \"\(name)\"\(hint); filters are \(filterNames.joined(separator: ", "))"
    }
    while reason.hasSuffix(".") { reason.removeLast() }
    guard let first = reason.first else { return "the template does not parse" }
    return first.lowercased() + reason.dropFirst()
  }

  /// The template variables inside a parsed node: Stencil keeps them in internal types, so they
  /// are found by reflection rather than by scanning the text a second time.
  private static func variables(in node: NodeType) -> [String] {
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
  private static func isLiteral(_ variable: String) -> Bool {
    if variable.count > 1, let first = variable.first, first == "\"" || first == "'", variable.last == first { return true }
    return Int(variable) != nil || Float(variable) != nil || Bool(variable) != nil
  }

  /// The column a variable reads: the first step of `user.email`; nil when it is not a name.
  private static func column(of variable: String) -> String? {
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
