import BackflowConfig
import BackflowDestinations
import Foundation

/// A rest destination: any REST API, its requests described per sync (docs/rest.md).
struct RESTSettings: ConnectorSettings {
  static let keys = [
    "url", "headers", "auth", "rate", "concurrency", "retries", "timeout", "retry", "idempotency_header",
  ]
  static let authKinds = ["bearer", "basic", "header", "query"]
  static let defaultConcurrency = 4

  /// How requests prove who sends them. Every value is a secret, whether or not it came from
  /// the environment: it is never shown, logged or stored.
  enum Auth: Sendable, Encodable {
    case bearer(Located<String>)
    case basic(username: Located<String>, password: Located<String>)
    case header(name: Located<String>, value: Located<String>)
    case query(name: Located<String>, value: Located<String>)

    /// The credentials as the applied config stores them: `${NAME}` as written, never a value.
    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: AuthKey.self)
      func hidden(_ value: Located<String>) -> String { value.isSecret ? value.written ?? Located<String>.redacted : Located<String>.redacted }
      switch self {
      case let .bearer(token): try container.encode(hidden(token), forKey: .bearer)
      case let .basic(username, password):
        try container.encode(["username": username.value, "password": hidden(password)], forKey: .basic)
      case let .header(name, value): try container.encode(["name": name.value, "value": hidden(value)], forKey: .header)
      case let .query(name, value): try container.encode(["name": name.value, "value": hidden(value)], forKey: .query)
      }
    }

    private enum AuthKey: String, CodingKey {
      case bearer, basic, header, query
    }

    /// The header requests carry, if this kind sends one.
    var header: (String, String)? {
      switch self {
      case let .bearer(token): ("Authorization", "Bearer \(token.value)")
      case let .basic(username, password):
        ("Authorization", "Basic " + Data("\(username.value):\(password.value)".utf8).base64EncodedString())
      case let .header(name, value): (name.value, value.value)
      case .query: nil
      }
    }

    var secrets: [String] {
      switch self {
      case let .bearer(token): [token.value]
      case let .basic(_, password): [password.value] + (header.map { [$0.1] } ?? [])
      case let .header(_, value), let .query(_, value): [value.value]
      }
    }
  }

  struct Retry: Sendable, Encodable {
    var resetHeader: Located<String>?
    var giveUpWhen: Located<String>?

    enum CodingKeys: String, CodingKey {
      case resetHeader = "reset_header"
      case giveUpWhen = "give_up_when"
    }
  }

  var url: Located<String>
  var headers: [HTTPSettings.Header]
  var auth: Auth?
  var rate: Located<Rate>?
  var concurrency: Located<Int>?
  var retries: Located<Int>?
  var timeout: Located<Interval>?
  var retry: Retry?
  var idempotencyHeader: Located<Bool>?

  init?(_ fields: DriverFields) {
    let url = fields.string("url", startingWith: ["http://", "https://"], "must start with http:// or https://")
    headers = fields.namedStrings("headers").map { HTTPSettings.Header(name: $0.name, value: $0.value) }
    concurrency = fields.integer("concurrency", minimum: 1)
    retries = fields.integer("retries", minimum: 0)
    timeout = fields.interval("timeout")
    idempotencyHeader = fields.boolean("idempotency_header")
    var ok = true
    if let text = fields.string("rate") {
      if let parsed = Rate(text.value) {
        rate = text.map { _ in parsed }
      } else {
        fields.invalid("rate", text, "must be requests per time, e.g. 100/10s, 10/s, 500/m or 1000/h")
        ok = false
      }
    }
    if let retry = fields.nested("retry", allowed: ["reset_header", "give_up_when"]) {
      self.retry = Retry(resetHeader: retry.string("reset_header"), giveUpWhen: retry.string("give_up_when"))
    }
    if fields.has("auth") {
      auth = Self.auth(fields)
      ok = ok && auth != nil
    }
    guard let url, ok else { return nil }
    self.url = url
  }

  /// `auth:` with exactly one kind.
  private static func auth(_ fields: DriverFields) -> Auth? {
    guard let auth = fields.nested("auth", allowed: authKinds) else { return nil }
    let given = authKinds.filter(auth.has)
    guard given.count == 1, let kind = given.first else {
      fields.error(
        given.isEmpty
          ? "auth needs one of bearer, basic, header or query"
          : "auth has \(given.joined(separator: " and ")); keep one", at: "auth")
      return nil
    }
    switch kind {
    case "bearer":
      return auth.string("bearer").map(Auth.bearer)
    case "basic":
      guard let basic = auth.nested("basic", allowed: ["username", "password"], required: ["username", "password"]),
        let username = basic.string("username"), let password = basic.string("password")
      else { return nil }
      return .basic(username: username, password: password)
    default:
      guard let pair = auth.nested(kind, allowed: ["name", "value"], required: ["name", "value"]),
        let name = pair.string("name"), let value = pair.string("value")
      else { return nil }
      return kind == "header" ? .header(name: name, value: value) : .query(name: name, value: value)
    }
  }

  var secrets: [String] {
    ([url] + headers.map(\.value)).filter(\.isSecret).map(\.value) + (auth?.secrets ?? [])
  }

  var address: SourceLocation? { url.location }

  /// What the connector needs, for the destination `name`.
  func connection(name: String) -> RESTConnection {
    var policy = RetryPolicy(retries: retries?.value ?? HTTPSettings.defaultRetries)
    policy.resetHeader = retry?.resetHeader?.value
    policy.giveUpWhen = retry?.giveUpWhen?.value
    var query: [(String, String)] = []
    if case let .query(name, value)? = auth { query.append((name.value, value.value)) }
    return RESTConnection(
      name: name, baseURL: url.value,
      headers: headers.map { ($0.name.value, $0.value.value) } + (auth?.header.map { [$0] } ?? []), query: query,
      secrets: secrets, retryPolicy: policy,
      timeout: timeout.map { .seconds($0.value.seconds) } ?? HTTPSettings.defaultTimeout, rate: rate?.value.perSecond,
      concurrency: concurrency?.value ?? Self.defaultConcurrency, idempotencyHeader: idempotencyHeader?.value ?? true)
  }
}
