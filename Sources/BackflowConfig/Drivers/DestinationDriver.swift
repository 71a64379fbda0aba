/// What loading and validation ask of one kind of destination (`type:` under `destinations:`).
/// The connectors' registry gives one per kind; nothing else switches on a destination's kind.
public protocol DestinationDriver: Sendable {
  /// The word `type:` takes.
  var kind: String { get }
  /// The keys this kind takes besides `type`, as the schema lists them.
  var keys: [String] { get }
  /// The keys that must be present.
  var requiredKeys: [String] { get }
  /// Decodes and checks the keys; `nil` after reporting what is wrong through `fields`.
  func settings(_ fields: DriverFields) -> (any ConnectorSettings)?
  /// What a destination with these settings can do.
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities
  /// Why a destination with these settings cannot take `mode`, when more than "use mode X" helps.
  func modeRefusal(_ mode: Sync.Mode, type: Sync.Kind, settings: any ConnectorSettings) -> String?
  /// Why `resync --clear` cannot empty a `type` sync's object here, when more than "resync
  /// without --clear" helps.
  func clearRefusal(type: Sync.Kind, object: String) -> String?
  /// Why records cannot be read back (drift, mirror) with these settings; `nil` when they can.
  func readRefusal(_ settings: any ConnectorSettings) -> String?
  /// Why `sync`'s records cannot be read back (drift), when that depends on the sync: a rest
  /// destination reads through the sync's `read:` request.
  func readRefusal(_ settings: any ConnectorSettings, sync: Sync) -> String?
  /// The keys whose change points the sync's records at another place (another database, file
  /// or server): `drift` tells those apart from other config changes.
  var locationKeys: [String] { get }
  /// A whole entry of this kind in flow style, as docs and tests write one.
  var example: String { get }
  /// Whether syncs say which request each operation sends (`requests:`), and must.
  var takesRequests: Bool { get }
}

extension DestinationDriver {
  public var takesRequests: Bool { false }
  public func modeRefusal(_ mode: Sync.Mode, type: Sync.Kind, settings: any ConnectorSettings) -> String? { nil }
  public func clearRefusal(type: Sync.Kind, object: String) -> String? { nil }
  public func readRefusal(_ settings: any ConnectorSettings, sync: Sync) -> String? { readRefusal(settings) }
}

/// The drivers config loading knows, from the connectors' registry.
public struct DriverCatalog: Sendable {
  public var sources: [any SourceDriver]
  public var destinations: [any DestinationDriver]

  public init(sources: [any SourceDriver], destinations: [any DestinationDriver]) {
    self.sources = sources
    self.destinations = destinations
  }

  public func source(_ kind: String) -> (any SourceDriver)? { sources.first { $0.kind == kind } }
  public func destination(_ kind: String) -> (any DestinationDriver)? { destinations.first { $0.kind == kind } }

  /// Every key some kind of source takes, `type` first: what `sources:` entries may hold.
  public var sourceKeys: [String] { Self.union(["type"], sources.map(\.keys)) }
  /// Every key some kind of destination takes, `type` first.
  public var destinationKeys: [String] { Self.union(["type"], destinations.map(\.keys)) }

  private static func union(_ first: [String], _ lists: [[String]]) -> [String] {
    var keys = first
    for key in lists.joined() where !keys.contains(key) { keys.append(key) }
    return keys
  }
}
