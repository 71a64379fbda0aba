/// What loading and validation ask of one kind of source (`type:` under `sources:`). The
/// connectors' registry gives one per kind; nothing else switches on a source's kind.
public protocol SourceDriver: Sendable {
  /// The word `type:` takes.
  var kind: String { get }
  /// The keys this kind takes besides `type`, as the schema lists them.
  var keys: [String] { get }
  /// The keys that must be present.
  var requiredKeys: [String] { get }
  /// Decodes and checks the keys; `nil` after reporting what is wrong through `fields`.
  func settings(_ fields: DriverFields) -> (any ConnectorSettings)?
  /// A whole entry of this kind in flow style, as docs and tests write one.
  var example: String { get }
  /// Why `sync_logs.source` cannot name a source of this kind; `nil` when it can.
  var syncLogRefusal: String? { get }
}

extension SourceDriver {
  public var syncLogRefusal: String? { nil }
}
