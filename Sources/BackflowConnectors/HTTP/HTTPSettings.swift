import BackflowConfig
import BackflowDestinations

/// An http destination: the generic JSON protocol's server (docs/destinations.md).
struct HTTPSettings: ConnectorSettings {
  static let keys = ["url", "headers", "retries", "timeout", "readable"]
  static let defaultRetries = 5
  static let defaultTimeout: Duration = .seconds(30)

  struct Header: Sendable, Encodable {
    var name: Located<String>
    var value: Located<String>
  }

  var url: Located<String>
  var headers: [Header]
  var retries: Located<Int>?
  var timeout: Located<Interval>?
  /// The server also implements the read endpoints (`POST {url}/{object}/read` and `/keys`), so
  /// drift can read records back and mirror can find the ones absent from the model.
  var readable: Located<Bool>?

  init?(_ fields: DriverFields) {
    let url = fields.string("url", startingWith: ["http://", "https://"], "must start with http:// or https://")
    headers = fields.namedStrings("headers").map { Header(name: $0.name, value: $0.value) }
    retries = fields.integer("retries", minimum: 0)
    timeout = fields.interval("timeout")
    readable = fields.boolean("readable")
    guard let url else { return nil }
    self.url = url
  }

  var secrets: [String] {
    ([url] + headers.map(\.value)).filter(\.isSecret).map(\.value)
  }

  var address: SourceLocation? { url.location }
  var isReadable: Bool { readable?.value ?? false }
  var headerPairs: [(String, String)] { headers.map { ($0.name.value, $0.value.value) } }
  var retryPolicy: RetryPolicy { RetryPolicy(retries: retries?.value ?? Self.defaultRetries) }
  var requestTimeout: Duration { timeout.map { .seconds($0.value.seconds) } ?? Self.defaultTimeout }
}
