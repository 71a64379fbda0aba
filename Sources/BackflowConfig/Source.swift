/// Where models are queried from.
public struct Source: Sendable, Encodable {
  public var name: Located<String>
  /// The driver's kind (`postgres`, `sqlite`, …).
  public var type: Located<String>
  public var driver: any SourceDriver
  public var settings: any ConnectorSettings

  public init(name: Located<String>, type: Located<String>, driver: any SourceDriver, settings: any ConnectorSettings) {
    self.name = name
    self.type = type
    self.driver = driver
    self.settings = settings
  }

  /// Where connection trouble is reported: the key that says where the source is.
  public var address: SourceLocation { settings.address ?? name.location }

  /// The settings' keys beside `name` and `type`, as written (secrets as `${NAME}`).
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: ConnectorKey.self)
    try container.encode(name, forKey: ConnectorKey("name"))
    try container.encode(type, forKey: ConnectorKey("type"))
    try settings.encode(to: encoder)
  }
}

/// A key of a connector's encoded config.
struct ConnectorKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }

  init(_ name: String) { stringValue = name }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}
