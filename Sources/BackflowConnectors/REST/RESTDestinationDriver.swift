import BackflowConfig
import BackflowDestinations
import Foundation

/// `type: rest`: any REST API, each sync saying which request each operation sends
/// (`requests:`, docs/rest.md).
struct RESTDestinationDriver: DestinationConnectorDriver {
  var kind: String { "rest" }
  var keys: [String] { RESTSettings.keys }
  var requiredKeys: [String] { ["url"] }
  var locationKeys: [String] { ["url"] }
  var example: String { "{ type: rest, url: \"http://127.0.0.1:8080\" }" }
  var takesRequests: Bool { true }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { RESTSettings(fields) }

  /// Records are read back through a sync's own `read:` and `list:` requests: whether a sync
  /// can mirror or be checked for drift is the sync's (`validate` refuses mirror without `list:`).
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities {
    var capabilities = DestinationCapabilities.everything
    capabilities.nestsFields = true
    return capabilities
  }

  func readRefusal(_ settings: any ConnectorSettings) -> String? { nil }

  func readRefusal(_ settings: any ConnectorSettings, sync: Sync) -> String? {
    guard sync.requests?.request(for: "read") == nil else { return nil }
    return Self.noReadRequest
  }

  static let noReadRequest =
    "the sync has no requests.read, so its records cannot be read back to compare; declare read: (a request that "
    + "takes a batch of keys and returns records, docs/rest.md)"

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    let settings = try destination.settings.typed(RESTSettings.self)
    return try RESTDestination(connection: settings.connection(name: destination.name.value), target: target)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    let settings = try destination.settings.typed(RESTSettings.self)
    guard target.requests?.request(for: "read") != nil else { throw DestinationError(Self.noReadRequest) }
    return try HTTPDestinationReader.rest(connection: settings.connection(name: destination.name.value), target: target)
  }
}
