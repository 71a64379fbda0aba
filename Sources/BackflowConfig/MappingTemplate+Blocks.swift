import Stencil

extension MappingTemplate {
  /// The block tags a template may hold, for messages and "did you mean".
  static let tagNames = ["for", "endfor", "if", "elsif", "elif", "else", "endif", "unless", "endunless", "empty"]

  /// Turns Stencil's tokens into pieces: output tags as Stencil parses them, `{% for %}` and
  /// `{% if %}` as Backflow's own blocks. Every variable is checked where it is read, a loop's
  /// variable known inside its loop only, and an unclosed or unknown tag reported where it opens.
  struct BlockParser {
    let tokens: [Token]
    /// Where each token's tag opens; `nil` for text.
    private let tags: [Tag?]
    private let environment: Environment
    private let variables: [String]?
    private var index = 0
    /// The columns read, in order of first use (request templates: the context variables).
    private(set) var columns: [String] = []
    private(set) var paths: [[String]] = []
    private(set) var lists: [[String]] = []
    /// Every loop variable, and `forloop` once there is a loop.
    private(set) var loopNames: [String] = []
    /// The loop variables in scope and the path each stands for (`records`, `[]`).
    private var scope: [String: [String]] = [:]

    init(text: String, environment: Environment, variables: [String]?) throws {
      let positions = try MappingTemplate.tags(in: text)
      tokens = Template(templateString: text, environment: environment).tokens
      // Stencil's tokens for tags come in the same order as `positions`.
      var next = 0
      tags = tokens.map { token in
        guard token.kind != .text, next < positions.count else { return nil }
        next += 1
        return positions[next - 1]
      }
      self.environment = environment
      self.variables = variables
    }

    /// The whole template.
    mutating func parseAll() throws -> [Piece] {
      try parse(until: []).pieces
    }

    /// Pieces up to one of `terminators` (returned with its token), or to the end. `inside` is the
    /// innermost open block: a tag that would end another one means that block is not closed.
    private mutating func parse(until terminators: Set<String>, inside: (name: String, at: Tag?)? = nil) throws
      -> (pieces: [Piece], end: (name: String, token: Token, at: Tag?)?)
    {
      var pieces: [Piece] = []
      while index < tokens.count {
        let token = tokens[index]
        let tag = tags[index]
        index += 1
        switch token.kind {
        case .text:
          var text = token.contents
          if index >= 2, tags[index - 2]?.trimsAfter == true { text = String(text.drop { $0.isWhitespace }) }
          if index < tags.count, tags[index]?.trimsBefore == true {
            text = String(text.reversed().drop { $0.isWhitespace }.reversed())
          }
          if !text.isEmpty { pieces.append(Piece(kind: .text(text), at: nil)) }
        case .comment:
          continue
        case .variable:
          pieces += try output(token, at: tag)
        case .block:
          let name = token.components.first ?? ""
          if terminators.contains(name) { return (pieces, (name, token, tag)) }
          switch name {
          case "for": pieces.append(try loop(token, at: tag))
          case "if", "unless": pieces.append(try branches(token, at: tag))
          case "endfor", "empty", "endif", "elsif", "elif", "else", "endunless":
            if let inside {
              throw MappingTemplateError("{% \(inside.name) %} is not closed; end it with {% end\(inside.name) %}", at: inside.at)
            }
            throw MappingTemplateError(
              "{% \(name) %} has no {% \(["endfor", "empty"].contains(name) ? "for" : name == "endunless" ? "unless" : "if") %} before it",
              at: tag)
          default:
            throw MappingTemplateError(
              "unknown tag {% \(name) %}\(Suggestion.hint(for: name, in: MappingTemplate.tagNames)); templates "
                + "take {{ … }} with filters, {% for x in list %}…{% endfor %} and {% if … %}…{% elsif … %}…{% else %}…{% endif %}",
              at: tag)
          }
        }
      }
      return (pieces, nil)
    }

    /// `{{ column | filter: argument }}`, parsed by Stencil one token at a time, so an error
    /// belongs to the tag being parsed (Stencil reports some against a token it makes up).
    private mutating func output(_ token: Token, at tag: Tag?) throws -> [Piece] {
      if token.contents.allSatisfy(\.isWhitespace) {
        throw MappingTemplateError("{{ }} is empty; put a column name in it, e.g. {{ email }}", at: tag)
      }
      if token.components.count != 1 {
        throw MappingTemplateError(
          "{{ \(token.contents) }} is not a column with filters; write {{ column }} or {{ column | filter: argument }}",
          at: tag)
      }
      let parsed: [NodeType]
      do {
        parsed = try TokenParser(tokens: [token], environment: environment).parse()
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(MappingTemplate.message(for: error), at: tag)
      }
      var pieces: [Piece] = []
      for node in parsed {
        for variable in MappingTemplate.variables(in: node) { try read(variable, at: tag) }
        if node is VariableNode, let contents = token.components.first, contents == token.contents,
          !MappingTemplate.isLiteral(contents), MappingTemplate.column(of: contents) == contents
        {
          pieces.append(Piece(kind: .column(contents), at: tag))
        } else {
          pieces.append(Piece(kind: .node(node), at: tag))
        }
      }
      return pieces
    }

    /// `{% for item in list [reversed] [limit: n] [offset: n] %}…[{% else %}…]{% endfor %}`.
    private mutating func loop(_ token: Token, at tag: Tag?) throws -> Piece {
      let usage = "write {% for item in list %}…{% endfor %}"
      var components = Array(token.components.dropFirst())
      guard components.count >= 3, components[1] == "in", let variable = components.first,
        MappingTemplate.column(of: variable) == variable, !variable.contains(".")
      else {
        throw MappingTemplateError("{% \(token.contents) %} is not a loop; \(usage)", at: tag)
      }
      components.removeFirst(2)
      // Liquid's modifiers follow the list: `limit: 2`, `limit:2`, `offset: 1`, `reversed`.
      var reversed = false
      var limit: Int?
      var offset = 0
      var list: [String] = []
      var position = 0
      while position < components.count {
        let word = components[position]
        position += 1
        if word == "reversed" {
          reversed = true
          continue
        }
        guard let name = ["limit", "offset"].first(where: { word == $0 + ":" || word.hasPrefix($0 + ":") }) else {
          guard limit == nil, offset == 0, !reversed else {
            throw MappingTemplateError("{% for %}: \"\(word)\" after the modifiers; \(usage) reversed limit: 10 offset: 2", at: tag)
          }
          list.append(word)
          continue
        }
        var number = String(word.dropFirst(name.count + 1))
        if number.isEmpty, position < components.count {
          number = components[position]
          position += 1
        }
        guard let count = Int(number), count >= 0 else {
          throw MappingTemplateError("{% for %}: \(name) needs a whole number of 0 or more, e.g. \(name): 10", at: tag)
        }
        if name == "limit" { limit = count } else { offset = count }
      }
      guard !list.isEmpty else { throw MappingTemplateError("{% for %} needs a list to walk; \(usage)", at: tag) }
      let items = try operand(list, in: token, at: tag, walked: true)
      let walked: [String] =
        switch items {
        case let .path(steps): path(of: steps.joined(separator: "."))
        case let .variable(resolvable): MappingTemplate.variables(in: resolvable).first.map(path(of:)) ?? []
        case .literal: []
        }
      let outer = scope
      scope[variable] = walked.isEmpty ? [variable] : walked + ["[]"]
      for name in [variable, "forloop"] where !loopNames.contains(name) { loopNames.append(name) }
      let body = try parse(until: ["endfor", "else", "empty"], inside: ("for", tag))
      scope = outer
      guard let end = body.end else {
        throw MappingTemplateError("{% for %} is not closed; end it with {% endfor %}", at: tag)
      }
      var empty: [Piece] = []
      if end.name != "endfor" {
        let rest = try parse(until: ["endfor"], inside: ("for", tag))
        guard rest.end != nil else {
          throw MappingTemplateError("{% for %} is not closed; end it with {% endfor %}", at: tag)
        }
        empty = rest.pieces
      }
      return Piece(
        kind: .loop(
          Loop(
            variable: variable, list: items, source: list.joined(separator: " "), reversed: reversed, limit: limit,
            offset: offset, body: body.pieces, empty: empty)), at: tag)
    }

    /// `{% if %}…{% elsif %}…{% else %}…{% endif %}` (`elif` too), or `{% unless %}…{% endunless %}`.
    private mutating func branches(_ token: Token, at tag: Tag?) throws -> Piece {
      let opening = token.components.first ?? "if"
      let closing = "end" + opening
      var branches: [(condition: Condition?, body: [Piece])] = []
      var condition: Condition? = try self.condition(token, at: tag)
      if opening == "unless", let test = condition { condition = .not(test) }
      var inElse = false
      while true {
        let part = try parse(until: [closing, "else", "elsif", "elif"], inside: (opening, tag))
        branches.append((condition, part.pieces))
        guard let end = part.end else {
          throw MappingTemplateError("{% \(opening) %} is not closed; end it with {% \(closing) %}", at: tag)
        }
        switch end.name {
        case closing:
          return Piece(kind: .branches(branches), at: tag)
        case "else" where !inElse:
          inElse = true
          condition = nil
        case "elsif" where !inElse && opening == "if", "elif" where !inElse && opening == "if":
          condition = try self.condition(end.token, at: end.at)
        default:
          throw MappingTemplateError(
            "{% \(end.name) %} cannot follow {% \(inElse ? "else" : opening) %}; end the block with {% \(closing) %}",
            at: end.at)
        }
      }
    }

    /// The condition of `{% if a == b and not c %}`: `or` binds loosest, then `and`, then `not`;
    /// comparisons are `==`, `!=`, `<`, `>`, `<=`, `>=`, `contains` and `in`.
    private mutating func condition(_ token: Token, at tag: Tag?) throws -> Condition {
      let name = token.components.first ?? "if"
      let words = Array(token.components.dropFirst())
      guard !words.isEmpty else {
        throw MappingTemplateError("{% \(name) %} needs a condition, e.g. {% \(name) plan == \"pro\" %}", at: tag)
      }
      return try condition(words, in: token, at: tag)
    }

    private mutating func condition(_ words: [String], in token: Token, at tag: Tag?) throws -> Condition {
      for (word, join) in [("or", Condition.any), ("and", Condition.all)] {
        let parts = words.split(separator: word, omittingEmptySubsequences: false).map(Array.init)
        guard parts.count > 1 else { continue }
        var conditions: [Condition] = []
        for part in parts { conditions.append(try condition(part, in: token, at: tag)) }
        return join(conditions)
      }
      if words.first == "not" { return .not(try condition(Array(words.dropFirst()), in: token, at: tag)) }
      guard !words.isEmpty else {
        throw MappingTemplateError("{% \(token.contents) %}: and, or and not need a value on each side", at: tag)
      }
      guard let position = words.firstIndex(where: { Condition.Comparison(rawValue: $0) != nil }),
        let comparison = Condition.Comparison(rawValue: words[position])
      else { return .test(try operand(words, in: token, at: tag)) }
      let left = Array(words[..<position])
      let right = Array(words[(position + 1)...])
      guard !left.isEmpty, !right.isEmpty else {
        throw MappingTemplateError("{% \(token.contents) %}: \(comparison.rawValue) needs a value on each side", at: tag)
      }
      return .compare(try operand(left, in: token, at: tag), comparison, try operand(right, in: token, at: tag))
    }

    /// A value in a block tag: a literal, or a variable with filters.
    /// `walked`: the operand is the list a loop walks, whose first variable is walked rather than read.
    private mutating func operand(_ words: [String], in token: Token, at tag: Tag?, walked: Bool = false) throws
      -> Operand
    {
      let text = words.joined(separator: " ")
      if words.count == 1, let literal = Operand.parseLiteral(text) { return .literal(literal) }
      // A plain `a.b.c` is read from the JSON values themselves: a decimal stays a number.
      if words.count == 1, MappingTemplate.column(of: text) != nil {
        try read(text, at: tag, walked: walked)
        return .path(text.split(separator: ".").map(String.init))
      }
      let resolvable: Resolvable
      do {
        resolvable = try TokenParser(tokens: [], environment: environment).compileFilter(text, containedIn: token)
      } catch let error as TemplateSyntaxError {
        throw MappingTemplateError(MappingTemplate.message(for: error), at: tag)
      }
      for (position, variable) in MappingTemplate.variables(in: resolvable).enumerated() {
        try read(variable, at: tag, walked: walked && position == 0)
      }
      return .variable(resolvable)
    }

    /// Records what `variable` reads: a loop variable reads what its loop walks, `forloop` nothing,
    /// anything else a column (or, in a request template, one of the context's variables).
    private mutating func read(_ variable: String, at tag: Tag?, walked: Bool = false) throws {
      guard !MappingTemplate.isLiteral(variable) else { return }
      guard let first = MappingTemplate.column(of: variable) else {
        throw MappingTemplateError(
          "\"\(variable)\" is not a column name; columns are letters, digits and _, and a dot reads a member (user.email)",
          at: tag)
      }
      if scope[first] == nil, first == "forloop", !scope.isEmpty { return }
      if scope[first] == nil, let variables, !variables.contains(first) {
        let known = variables + scope.keys.sorted() + (scope.isEmpty ? [] : ["forloop"])
        throw MappingTemplateError(
          "unknown variable \"\(first)\"\(Suggestion.hint(for: first, in: known)); "
            + "the variables are \(known.joined(separator: ", "))", at: tag)
      }
      if scope[first] == nil, !columns.contains(first) { columns.append(first) }
      let steps = path(of: variable)
      if walked {
        if !lists.contains(steps) { lists.append(steps) }
      } else if !paths.contains(steps) {
        paths.append(steps)
      }
    }

    /// The steps `variable` reads, a loop variable replaced by what its loop walks.
    private func path(of variable: String) -> [String] {
      let steps = variable.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      guard let first = steps.first, let walked = scope[first] else { return steps }
      return walked + steps.dropFirst()
    }
  }

  /// A `{% for %}` loop.
  struct Loop {
    var variable: String
    var list: Operand
    /// The list as written, for messages.
    var source: String
    var reversed: Bool
    var limit: Int?
    var offset: Int
    var body: [Piece]
    /// `{% else %}` (Liquid) or `{% empty %}` (Stencil): rendered when the list is empty or NULL.
    var empty: [Piece]

    /// The items walked, after `offset`, `limit` and `reversed`, in Liquid's order.
    func items(in scope: [String: JSONValue], _ context: () -> Context) throws -> [JSONValue] {
      var items: [JSONValue]
      switch try list.value(in: scope, context) {
      case .null: items = []
      case let .array(values): items = values
      case .object:
        throw MappingTemplateError("{% for %} walks a list, but \(source) is an object")
      case .string:
        throw MappingTemplateError(
          "{% for %} walks a list, but \(source) is text; a column holding JSON text is read as JSON when the model "
            + "declares it under json:")
      default:
        throw MappingTemplateError("{% for %} walks a list, but \(source) is a single value")
      }
      items = Array(items.dropFirst(offset))
      if let limit { items = Array(items.prefix(limit)) }
      return reversed ? items.reversed() : items
    }

    /// `forloop` inside the loop: Liquid's names and Stencil's.
    static func forloop(index: Int, count: Int) -> JSONValue {
      .object([
        ("index", .int(index + 1)), ("index0", .int(index)), ("rindex", .int(count - index)),
        ("rindex0", .int(count - index - 1)), ("first", .bool(index == 0)), ("last", .bool(index == count - 1)),
        ("length", .int(count)), ("counter", .int(index + 1)), ("counter0", .int(index)),
      ])
    }
  }

  /// A value in a block tag.
  enum Operand {
    case literal(JSONValue)
    /// `a.b.c` without filters.
    case path([String])
    case variable(Resolvable)

    /// `"text"`, `'text'`, a number, `true`, `false`, `nil` or `null`.
    static func parseLiteral(_ text: String) -> JSONValue? {
      if text.count > 1, let quote = text.first, quote == "\"" || quote == "'", text.last == quote {
        return .string(String(text.dropFirst().dropLast()))
      }
      switch text {
      case "true": return .bool(true)
      case "false": return .bool(false)
      case "nil", "null": return .null
      default: break
      }
      if let number = Int(text) { return .int(number) }
      if let number = Double(text), number.isFinite, text.first?.isNumber == true || text.first == "-" {
        return .number(text)
      }
      return nil
    }

    /// The value in `scope` (the row and loop variables); `context` is Stencil's view of it, for filters.
    func value(in scope: [String: JSONValue], _ context: () -> Context) throws -> JSONValue {
      switch self {
      case let .literal(value): value
      case let .path(steps):
        steps.dropFirst().reduce(steps.first.flatMap { scope[$0] } ?? .null) { $0.member($1) ?? .null }
      case let .variable(resolvable): JSONValue(templateValue: try resolvable.resolve(context()))
      }
    }
  }

  /// An `{% if %}`'s condition.
  indirect enum Condition {
    enum Comparison: String {
      case equal = "=="
      case notEqual = "!="
      case less = "<"
      case greater = ">"
      case lessOrEqual = "<="
      case greaterOrEqual = ">="
      case contains
      case `in`
    }

    case test(Operand)
    case not(Condition)
    case all([Condition])
    case any([Condition])
    case compare(Operand, Comparison, Operand)

    /// NULL, false, 0, empty text and empty lists and objects are false; anything else is true.
    func holds(in scope: [String: JSONValue], _ context: () -> Context) throws -> Bool {
      switch self {
      case let .test(operand): return try operand.value(in: scope, context).isTruthy
      case let .not(condition): return try !condition.holds(in: scope, context)
      case let .all(conditions): return try conditions.allSatisfy { try $0.holds(in: scope, context) }
      case let .any(conditions): return try conditions.contains { try $0.holds(in: scope, context) }
      case let .compare(left, comparison, right):
        return Self.compare(try left.value(in: scope, context), comparison, try right.value(in: scope, context))
      }
    }

    /// Numbers compare as numbers whatever their JSON spelling, text as text; `contains` finds
    /// text in text, an item in a list or a member name in an object.
    static func compare(_ left: JSONValue, _ comparison: Comparison, _ right: JSONValue) -> Bool {
      switch comparison {
      case .equal: return left == right
      case .notEqual: return left != right
      case .contains: return contains(left, right)
      case .in: return contains(right, left)
      case .less, .greater, .lessOrEqual, .greaterOrEqual:
        let (less, equal): (Bool, Bool)
        if let a = left.numericValue, let b = right.numericValue {
          (less, equal) = (a < b, a == b)
        } else if case let .string(a) = left, case let .string(b) = right {
          (less, equal) = (a < b, a == b)
        } else {
          return false
        }
        switch comparison {
        case .less: return less
        case .greater: return !less && !equal
        case .lessOrEqual: return less || equal
        default: return !less
        }
      }
    }

    private static func contains(_ whole: JSONValue, _ part: JSONValue) -> Bool {
      switch whole {
      case let .string(text):
        guard let value = part.templateValue else { return false }
        return text.contains(templateText(value))
      case let .array(items): return items.contains(part)
      case let .object(members):
        guard case let .string(name) = part else { return false }
        return members.contains { $0.0 == name }
      default: return false
      }
    }
  }
}

extension JSONValue {
  fileprivate var isTruthy: Bool {
    switch self {
    case .null: false
    case let .bool(flag): flag
    case .int, .double, .number: numericValue != 0
    case let .string(text): !text.isEmpty
    case let .array(items): !items.isEmpty
    case let .object(members): !members.isEmpty
    }
  }
}
