/// A sync's `requests:` on a `rest` destination: for each operation its mode and `on_delete`
/// need, the HTTP request that carries it (docs/rest.md).
public struct RequestTemplates: Sendable, Encodable {
  /// The operations a request may be declared for: the HTTP protocol's.
  public static let operations = [
    "upsert", "update", "insert", "delete", "clear_fields", "add", "remove", "track", "clear",
  ]
  /// The requests that read records back rather than send them: `read` (records by key, for
  /// drift and id look-ups) and `list` (every record, page by page, for mirror).
  public static let readingRequests = ["read", "list"]
  /// What a request template may read.
  public static let variables = ["records", "record", "object", "sync", "sync_id", "run_id", "batch", "operation"]
  /// The operations sent for rows that left the model, or for none (`clear`): their records
  /// have no row.
  public static let removals = ["delete", "remove", "clear_fields", "clear"]
  /// What a `list` request's templates may read besides: the cursor `result.next` found on the
  /// page before (`null` on the first).
  public static let listVariables = variables + ["cursor"]

  /// Requests by operation, in file order.
  public var requests: [(operation: Located<String>, request: RequestTemplate)]
  /// Where `requests:` is written.
  public var location: SourceLocation

  /// The values read from the environment (a webhook key in a `path`): never shown.
  public var secrets: [String] {
    requests.flatMap(\.request.templates).filter(\.isSecret).map(\.value)
  }

  public func request(for operation: String) -> RequestTemplate? {
    requests.first { $0.operation.value == operation }?.request
  }

  /// Whether some request reads `record.destination_id` (or a record's `destination_id` inside
  /// `$each`): the API's own id, kept in state.
  public var readsDestinationIDs: Bool {
    requests.contains { $0.request.readsDestinationID }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: ConnectorKey.self)
    for (operation, request) in requests { try container.encode(request, forKey: ConnectorKey(operation.value)) }
  }
}

/// One operation's request: where it goes, what it carries, and how its answer is read.
public struct RequestTemplate: Sendable, Encodable {
  public var method: Located<String>
  /// A template, rendered to text and joined to the destination's `url`.
  public var path: Located<String>
  /// Query parameters, values as templates, in file order.
  public var query: [(name: Located<String>, value: Located<String>)]
  public var headers: [(name: Located<String>, value: Located<String>)]
  /// How many records one request carries; `nil` sends the sync's whole batch in one.
  public var batch: Located<Int>?
  public var body: RequestBody?
  public var result: ResultPaths?
  /// What a cleared field is sent as (`clear_fields`); `null` when not given.
  public var clearValue: Located<ScalarValue>?
  /// Where a `read` or `list` answer holds its records (instead of `result`).
  public var records: RecordPaths?
  /// How a `list` request pages by position, when its answer gives no cursor.
  public var offset: ListOffset?

  /// Whether a template reads a record's `destination_id` (`record.destination_id`, or through
  /// `records` and loops over them), so records without a kept id are looked up first. A field
  /// or literal text of that name is not the id. Parses the templates: ask once per request.
  public var readsDestinationID: Bool {
    templates.contains { text in
      guard let template = try? MappingTemplate(text.value, variables: RequestTemplates.listVariables) else { return false }
      return (template.paths + template.lists).contains { RequestTemplates.recordSteps(of: $0)?.first == "destination_id" }
    }
  }

  /// Every template of the request: path, query and header values, the body's strings.
  public var templates: [Located<String>] {
    var texts = [path] + query.map(\.value) + headers.map(\.value)
    switch body {
    case let .text(text, _)?: texts.append(text)
    case let .json(tree)?: texts += tree.templates
    case nil: break
    }
    return texts
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: ConnectorKey.self)
    try container.encode(method, forKey: ConnectorKey("method"))
    try container.encode(path, forKey: ConnectorKey("path"))
    if !query.isEmpty { try container.encode(NamedTexts(query), forKey: ConnectorKey("query")) }
    if !headers.isEmpty { try container.encode(NamedTexts(headers), forKey: ConnectorKey("headers")) }
    try container.encodeIfPresent(batch, forKey: ConnectorKey("batch"))
    switch body {
    case let .json(tree)?: try container.encode(tree, forKey: ConnectorKey("body"))
    case let .text(text, contentType)?:
      try container.encode(text, forKey: ConnectorKey("body_text"))
      try container.encode(contentType, forKey: ConnectorKey("content_type"))
    case nil: break
    }
    try container.encodeIfPresent(result, forKey: ConnectorKey("result"))
    try container.encodeIfPresent(records, forKey: ConnectorKey("result"))
    try container.encodeIfPresent(clearValue, forKey: ConnectorKey("clear_value"))
    try container.encodeIfPresent(offset, forKey: ConnectorKey("offset"))
  }
}

/// Name: value pairs in file order, encoded as a mapping.
struct NamedTexts: Encodable {
  var pairs: [(name: Located<String>, value: Located<String>)]

  init(_ pairs: [(name: Located<String>, value: Located<String>)]) {
    self.pairs = pairs
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: ConnectorKey.self)
    for (name, value) in pairs { try container.encode(value, forKey: ConnectorKey(name.value)) }
  }
}

/// A request's body: a YAML structure rendered to JSON, or raw text with its content type.
public enum RequestBody: Sendable {
  case json(BodyTemplate)
  case text(Located<String>, contentType: Located<String>)
}

/// `body:` as written: a YAML structure whose strings are templates.
public indirect enum BodyTemplate: Sendable, Encodable {
  /// A string: a template; exactly one `{{ … }}` keeps the value's JSON type.
  case template(Located<String>)
  /// A number, boolean or null as YAML typed it.
  case scalar(Located<ScalarValue>)
  case array([BodyTemplate])
  case object([(name: String, value: BodyTemplate)])
  /// `{ $each: records, $item: … }`: one item per record of the request, `record` bound in each.
  case each(BodyTemplate)
  /// `{ $merge: [A, B] }`: the members of each object in turn, later ones winning.
  case merge([BodyTemplate])

  /// Every template string of the body.
  var templates: [Located<String>] {
    switch self {
    case let .template(text): [text]
    case .scalar: []
    case let .array(items), let .merge(items): items.flatMap(\.templates)
    case let .object(members): members.flatMap(\.value.templates)
    case let .each(item): item.templates
    }
  }

  public func encode(to encoder: any Encoder) throws {
    switch self {
    case let .template(text):
      try text.encode(to: encoder)
    case let .scalar(value):
      try value.encode(to: encoder)
    case let .array(items):
      var container = encoder.unkeyedContainer()
      for item in items { try container.encode(item) }
    case let .object(members):
      var container = encoder.container(keyedBy: ConnectorKey.self)
      for (name, value) in members { try container.encode(value, forKey: ConnectorKey(name)) }
    case let .each(item):
      var container = encoder.container(keyedBy: ConnectorKey.self)
      try container.encode("records", forKey: ConnectorKey("$each"))
      try container.encode(item, forKey: ConnectorKey("$item"))
    case let .merge(parts):
      var container = encoder.container(keyedBy: ConnectorKey.self)
      try container.encode(parts, forKey: ConnectorKey("$merge"))
    }
  }
}

/// `result:`: where a response says which records failed, and why.
public struct ResultPaths: Sendable, Encodable {
  /// The list of errors (`errors`), or `nil` when the API answers one result per record (`each`).
  public var errors: Located<ResultPath>?
  /// In one error: the key of the record it concerns.
  public var errorKey: Located<ResultPath>?
  /// In one error: the record's position in the request, from 0 (instead of `error_key`).
  public var errorIndex: Located<ResultPath>?
  /// In one error or result: the reason.
  public var errorMessage: Located<ResultPath>?
  /// One result per record, in request order (Salesforce's sObject Collections).
  public var each: Located<ResultPath>?
  /// In one result of `each`: true when the record succeeded.
  public var ok: Located<ResultPath>?
  /// Keys compare without regard to case (APIs that lower-case emails).
  public var caseInsensitiveKeys: Bool
  /// The objects the API created or updated (`results`), each naming its record by `idKey`.
  public var ids: Located<ResultPath>?
  /// In one of `ids`: the record's key.
  public var idKey: Located<ResultPath>?
  /// In one of `ids`, or one result of `each`: the API's own id, kept in state.
  public var id: Located<ResultPath>?

  public init(
    errors: Located<ResultPath>?, errorKey: Located<ResultPath>?, errorIndex: Located<ResultPath>?,
    errorMessage: Located<ResultPath>?, each: Located<ResultPath>?, ok: Located<ResultPath>?, caseInsensitiveKeys: Bool
  ) {
    self.errors = errors
    self.errorKey = errorKey
    self.errorIndex = errorIndex
    self.errorMessage = errorMessage
    self.each = each
    self.ok = ok
    self.caseInsensitiveKeys = caseInsensitiveKeys
  }

  public func encode(to encoder: any Encoder) throws {
    try encodePaths(
      [
        ("errors", errors), ("error_key", errorKey), ("error_index", errorIndex), ("error_message", errorMessage),
        ("each", each), ("ok", ok), ("ids", ids), ("id_key", idKey), ("id", id),
      ], caseInsensitiveKeys: caseInsensitiveKeys, to: encoder)
  }
}

/// The `result:` of a `read` or `list` request: where its answer holds records, and where each
/// holds its key, fields and the API's own id.
public struct RecordPaths: Sendable, Encodable {
  /// The list of records (`results`).
  public var records: Located<ResultPath>
  /// In one record: its key, the match value (`properties.email`).
  public var key: Located<ResultPath>
  /// In one record: the object holding the mapped fields; the record itself when not given.
  public var fields: Located<ResultPath>?
  /// In one record: the API's own id.
  public var id: Located<ResultPath>?
  /// `list`: the cursor of the next page, given to the next request as `{{ cursor }}`.
  public var next: Located<ResultPath>?
  /// `list`: the whole URL of the next page.
  public var nextURL: Located<ResultPath>?
  /// Keys compare without regard to case (APIs that lower-case emails).
  public var caseInsensitiveKeys: Bool

  public func encode(to encoder: any Encoder) throws {
    try encodePaths(
      [("records", records), ("key", key), ("fields", fields), ("id", id), ("next", next), ("next_url", nextURL)],
      caseInsensitiveKeys: caseInsensitiveKeys, to: encoder)
  }
}

/// A `result:` as the applied config stores it: each path as written, then `keys`.
private func encodePaths(
  _ paths: [(String, Located<ResultPath>?)], caseInsensitiveKeys: Bool, to encoder: any Encoder
) throws {
  var container = encoder.container(keyedBy: ConnectorKey.self)
  for (key, path) in paths {
    if let path { try container.encode(Located(path.value.description, at: path.location), forKey: ConnectorKey(key)) }
  }
  if caseInsensitiveKeys { try container.encode("case_insensitive", forKey: ConnectorKey("keys")) }
}

/// `offset: { param: offset, size_param: count, size: 1000 }`: a `list` request pages by
/// position, each page's query carrying where it starts and how many records it asks for.
public struct ListOffset: Sendable, Encodable {
  public var param: Located<String>
  public var sizeParam: Located<String>?
  public var size: Located<Int>

  public init(param: Located<String>, sizeParam: Located<String>?, size: Located<Int>) {
    self.param = param
    self.sizeParam = sizeParam
    self.size = size
  }

  enum CodingKeys: String, CodingKey {
    case param
    case sizeParam = "size_param"
    case size
  }
}
