/// The keys one source or destination declares besides `type`, decoded and checked by its driver.
///
/// A driver gives its own `Encodable` value: what it encodes is what the applied config stores
/// and the config plan compares (secrets as written, `${NAME}`, through `Located`).
public protocol ConnectorSettings: Sendable, Encodable {
  /// The texts that must never be shown: values read from the environment, and credentials
  /// written in a URL or connection string.
  var secrets: [String] { get }
  /// Where a failure to reach the system is reported: the key that says where it is.
  var address: SourceLocation? { get }
}
