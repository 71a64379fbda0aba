/// A path into an API's JSON answer, as `result:` writes them: dotted member names with `[n]`
/// (an item), `[*]` (every item) and `[field=value]` (the items whose member `field` is the text
/// or number `value`): `errors[0].context.ids[0]`, `errors[input_array=attributes]`.
///
/// Written by hand on purpose: the subset is this small, and JSONPath's full language (scripts,
/// recursive descent) would let an answer's shape decide what Backflow reads. A path that finds
/// nothing yields no values, never an error: HubSpot omits `errors` when every record succeeded.
public struct ResultPath: Sendable, Hashable, CustomStringConvertible {
  /// One step of a path.
  public enum Step: Sendable, Hashable {
    case member(String)
    case index(Int)
    case every
    case filter(field: String, value: String)
  }

  public let steps: [Step]
  /// The path as written.
  public let description: String

  /// Parses `text`; throws a message saying what is wrong and what would be right.
  public init(_ text: String) throws(ResultPathError) {
    description = text
    var steps: [Step] = []
    var rest = Substring(text)
    guard !rest.isEmpty else { throw ResultPathError("the path is empty; write a member name such as results") }
    var expectsName = true
    while !rest.isEmpty {
      if rest.first == "[" {
        guard let close = rest.firstIndex(of: "]") else {
          throw ResultPathError("\"[\" is not closed; write [0], [*] or [field=value]")
        }
        let inside = rest[rest.index(after: rest.startIndex)..<close]
        rest = rest[rest.index(after: close)...]
        if inside == "*" {
          steps.append(.every)
        } else if let index = Int(inside), index >= 0 {
          steps.append(.index(index))
        } else if let equals = inside.firstIndex(of: "="), !inside[..<equals].isEmpty {
          steps.append(.filter(field: String(inside[..<equals]), value: String(inside[inside.index(after: equals)...])))
        } else {
          throw ResultPathError("[\(inside)] is not an item; write [0] (an index), [*] (every item) or [field=value]")
        }
        expectsName = false
      } else if rest.first == "." {
        guard !expectsName else { throw ResultPathError("\".\" must follow a name or ]; write a.b, not .b or a..b") }
        rest = rest.dropFirst()
        expectsName = true
        guard !rest.isEmpty else { throw ResultPathError("the path ends with \".\"; remove it or add a name") }
      } else {
        guard expectsName else { throw ResultPathError("a name must follow \".\"; write a[0].b, not a[0]b") }
        let name = rest.prefix { $0 != "." && $0 != "[" }
        rest = rest.dropFirst(name.count)
        steps.append(.member(String(name)))
        expectsName = false
      }
    }
    self.steps = steps
  }

  /// Every value the path finds in `json`, in document order.
  public func values(in json: JSONValue) -> [JSONValue] {
    steps.reduce([json]) { found, step in found.flatMap { Self.apply(step, to: $0) } }
  }

  /// The first value the path finds, if any.
  public func value(in json: JSONValue) -> JSONValue? {
    values(in: json).first
  }

  private static func apply(_ step: Step, to value: JSONValue) -> [JSONValue] {
    switch (step, value) {
    case let (.member(name), .object(members)):
      return members.first { $0.0 == name }.map { [$0.1] } ?? []
    case let (.index(index), .array(items)):
      return items.indices.contains(index) ? [items[index]] : []
    case let (.every, .array(items)):
      return items
    case let (.filter(field, wanted), .array(items)):
      return items.filter { item in item[field].map { Self.text(of: $0) == wanted } ?? false }
    default:
      return []
    }
  }

  /// A scalar as `[field=value]` compares it: strings as they are, numbers and booleans printed.
  public static func text(of value: JSONValue) -> String? {
    switch value {
    case let .string(text): text
    case .int, .double, .number, .bool: value.rendered(compact: true)
    case .null, .array, .object: nil
    }
  }
}

/// Why a `result:` path does not parse.
public struct ResultPathError: Error, Sendable, CustomStringConvertible {
  public var message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
