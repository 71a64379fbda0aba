import BackflowConfig
import BackflowDestinations
import Foundation

/// A rest destination: any REST API, its requests described per sync (docs/rest.md).
struct RESTSettings: ConnectorSettings {
  static let keys = [
    "url", "headers", "auth", "rate", "concurrency", "retries", "timeout", "retry", "idempotency_header",
  ]
  static let authKinds = ["bearer", "basic", "header", "query", "oauth2"]
  static let oauth2Keys = ["token_url", "client_id", "client_secret", "scope", "client_auth", "params"]
  static let defaultConcurrency = 4

  /// How requests prove who sends them. Every value is a secret, whether or not it came from
  /// the environment: it is never shown, logged or stored.
  enum Auth: Sendable, Encodable {
    case bearer(Located<String>)
    case basic(username: Located<String>, password: Located<String>)
    case header(name: Located<String>, value: Located<String>)
    case query(name: Located<String>, value: Located<String>)
    case oauth2(OAuth2)

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
      case let .oauth2(client):
        var fields = [
          "token_url": client.tokenURL.isSecret ? hidden(client.tokenURL) : client.tokenURL.value,
          "client_id": hidden(client.clientID), "client_secret": hidden(client.clientSecret),
          "client_auth": client.basicClientAuthentication ? "basic" : "body",
        ]
        if let scope = client.scope { fields["scope"] = scope.value }
        for (name, value) in client.parameters { fields["params.\(name.value)"] = hidden(value) }
        try container.encode(fields, forKey: .oauth2)
      }
    }

    private enum AuthKey: String, CodingKey {
      case bearer, basic, header, query, oauth2
    }

    /// The header requests carry, if this kind sends one.
    var header: (String, String)? {
      switch self {
      case let .bearer(token): ("Authorization", "Bearer \(token.value)")
      case let .basic(username, password):
        ("Authorization", "Basic " + Data("\(username.value):\(password.value)".utf8).base64EncodedString())
      case let .header(name, value): (name.value, value.value)
      case .query, .oauth2: nil
      }
    }

    var secrets: [String] {
      switch self {
      case let .bearer(token): [token.value]
      case let .basic(_, password): [password.value] + (header.map { [$0.1] } ?? [])
      case let .header(_, value), let .query(_, value): [value.value]
      case let .oauth2(client):
        // The client id is no credential unless it came from the environment.
        [client.clientSecret.value] + [client.clientID].filter(\.isSecret).map(\.value)
          + client.parameters.map(\.value.value)
          + (client.tokenURL.isSecret ? [client.tokenURL.value] : [])
      }
    }
  }

  /// `auth: { oauth2: … }`: the client credentials grant.
  struct OAuth2: Sendable {
    var tokenURL: Located<String>
    var clientID: Located<String>
    var clientSecret: Located<String>
    var scope: Located<String>?
    var basicClientAuthentication: Bool
    /// Extra token parameters (`audience`, `resource`), secrets all the same.
    var parameters: [(name: Located<String>, value: Located<String>)]
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
          ? "auth needs one of bearer, basic, header, query or oauth2"
          : "auth has \(given.joined(separator: " and ")); keep one", at: "auth")
      return nil
    }
    switch kind {
    case "oauth2":
      guard
        let client = auth.nested(
          "oauth2", allowed: oauth2Keys, required: ["token_url", "client_id", "client_secret"]),
        let tokenURL = client.string("token_url", startingWith: ["http://", "https://"], "must start with http:// or https://"),
        let clientID = client.string("client_id"), let clientSecret = client.string("client_secret")
      else { return nil }
      let clientAuth = client.string("client_auth")
      if let clientAuth, !["basic", "body"].contains(clientAuth.value) {
        client.invalid("client_auth", clientAuth, "must be basic or body")
        return nil
      }
      return .oauth2(
        OAuth2(
          tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, scope: client.string("scope"),
          basicClientAuthentication: clientAuth?.value != "body", parameters: client.namedStrings("params")))
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
      concurrency: concurrency?.value ?? Self.defaultConcurrency, idempotencyHeader: idempotencyHeader?.value ?? true,
      oauth2: oauth2)
  }

  /// The token client's settings, for `auth: { oauth2: … }`.
  private var oauth2: OAuth2Token.Settings? {
    guard case let .oauth2(client)? = auth else { return nil }
    return OAuth2Token.Settings(
      tokenURL: client.tokenURL.value, clientID: client.clientID.value, clientSecret: client.clientSecret.value,
      scope: client.scope?.value, basicClientAuthentication: client.basicClientAuthentication,
      parameters: client.parameters.map { ($0.name.value, $0.value.value) })
  }
}
