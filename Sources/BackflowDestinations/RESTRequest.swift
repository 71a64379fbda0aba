import BackflowConfig
import NIOHTTP1

/// One operation's request template (`requests.upsert`), compiled once per run and rendered for
/// each group of records it carries.
struct RESTRequest: Sendable {
  /// A request rendered for some records, ready to send.
  struct Rendered {
    var method: HTTPMethod
    var path: String
    var query: [(String, String)]
    var headers: [(String, String)]
    var body: String?
  }

  /// A template that failed for one record of `$each`: that record fails, the others go on.
  struct RecordFailure: Error {
    var index: Int
    var reason: String
  }

  /// Why the request cannot be rendered for any of its records.
  struct Failure: Error {
    var reason: String
  }

  let template: RequestTemplate
  let method: HTTPMethod
  /// Whether its records need their kept ids (`RequestTemplate.readsDestinationID`).
  let readsDestinationID: Bool
  private let path: MappingTemplate
  private let query: [(String, MappingTemplate)]
  private let headers: [(String, MappingTemplate)]
  private let body: Body?

  private enum Body: @unchecked Sendable {
    case json(Node)
    case text(MappingTemplate, contentType: String)
  }

  private indirect enum Node {
    case template(MappingTemplate)
    case value(JSONValue)
    case array([Node])
    case object([(String, Node)])
    case each(Node)
    case merge([Node])
  }

  /// Compiles every template of `template`; they were checked by `validate`, so a failure here
  /// means the config changed under the run.
  init(_ template: RequestTemplate) throws {
    self.template = template
    method = HTTPMethod(rawValue: template.method.value)
    readsDestinationID = template.readsDestinationID
    // Every variable any request may read: `validate` checked each request against its own.
    func compile(_ text: Located<String>) throws -> MappingTemplate {
      try MappingTemplate(text.value, variables: RequestTemplates.listVariables)
    }
    path = try compile(template.path)
    query = try template.query.map { ($0.name.value, try compile($0.value)) }
    headers = try template.headers.map { ($0.name.value, try compile($0.value)) }
    func node(_ tree: BodyTemplate) throws -> Node {
      switch tree {
      case let .template(text): return .template(try compile(text))
      case let .scalar(value): return .value(JSONValue(value.value))
      case let .array(items): return .array(try items.map(node))
      case let .object(members): return .object(try members.map { ($0.name, try node($0.value)) })
      case let .each(item): return .each(try node(item))
      case let .merge(parts): return .merge(try parts.map(node))
      }
    }
    switch template.body {
    case let .json(tree)?: body = .json(try node(tree))
    case let .text(text, contentType)?: body = .text(try compile(text), contentType: contentType.value)
    case nil: body = nil
    }
  }

  /// How many records one request carries, at most.
  var batchSize: Int? { template.batch?.value }

  /// The request for `records` (template context values, `records` and `record` among them).
  /// Throws a `RecordFailure` when one record's `$item` does not render, a `Failure` when the
  /// rest of the request does not.
  func render(_ context: [String: JSONValue], records: [JSONValue]) throws -> Rendered {
    var context = context
    context["records"] = .array(records)
    if records.count == 1 { context["record"] = records[0] }
    func text(_ template: MappingTemplate, _ what: String) throws -> String {
      do {
        return try template.render(context)
      } catch {
        throw Failure(reason: "\(what) does not render: \(FailureKind.message(of: error))")
      }
    }
    var rendered = Rendered(
      method: method, path: try text(path, "path"),
      query: try query.map { ($0.0, try text($0.1, "query.\($0.0)")) },
      headers: try headers.map { ($0.0, try text($0.1, "headers.\($0.0)")) })
    switch body {
    case let .json(node)?:
      rendered.body = try Self.value(node, context: context, records: records).rendered(compact: true)
      rendered.headers.append(("Content-Type", "application/json"))
    case let .text(template, contentType)?:
      rendered.body = try text(template, "body_text")
      rendered.headers.append(("Content-Type", contentType))
    case nil:
      break
    }
    return rendered
  }

  private static func value(_ node: Node, context: [String: JSONValue], records: [JSONValue], record: Int? = nil)
    throws -> JSONValue
  {
    func fail(_ error: any Error) -> any Error {
      let reason = "the body does not render: \(FailureKind.message(of: error))"
      if let record { return RecordFailure(index: record, reason: reason) }
      return Failure(reason: reason)
    }
    switch node {
    case let .template(template):
      do {
        return try template.value(context) ?? .string(try template.render(context))
      } catch {
        throw fail(error)
      }
    case let .value(value):
      return value
    case let .array(items):
      return .array(try items.map { try value($0, context: context, records: records, record: record) })
    case let .object(members):
      return .object(try members.map { ($0.0, try value($0.1, context: context, records: records, record: record)) })
    case let .each(item):
      var itemContext = context
      return .array(
        try records.enumerated().map { index, one in
          itemContext["record"] = one
          return try value(item, context: itemContext, records: records, record: index)
        })
    case let .merge(parts):
      var merged: [(String, JSONValue)] = []
      for part in parts {
        let object = try value(part, context: context, records: records, record: record)
        guard case let .object(members) = object else {
          if case .null = object { continue }
          throw fail(Failure(reason: "$merge takes objects, got \(object.rendered(compact: true).prefix(60))"))
        }
        for (name, member) in members {
          if let index = merged.firstIndex(where: { $0.0 == name }) {
            merged[index].1 = member
          } else {
            merged.append((name, member))
          }
        }
      }
      return .object(merged)
    }
  }
}

extension RESTRequest.Failure: CustomStringConvertible {
  var description: String { reason }
}

extension JSONValue {
  /// A YAML scalar of the config as JSON.
  init(_ scalar: ScalarValue) {
    switch scalar {
    case let .string(text): self = .string(text)
    case let .integer(number): self = .int(number)
    case let .number(number): self = .double(number)
    case let .boolean(flag): self = .bool(flag)
    case .null: self = .null
    }
  }
}
