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

  /// Records cannot be read back yet (no `read:` or `list:`), so neither mirror nor drift.
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities {
    var capabilities = DestinationCapabilities.everything
    capabilities.modes[.object]?.remove(.mirror)
    capabilities.readsBack = false
    capabilities.nestsFields = true
    return capabilities
  }

  func modeRefusal(_ mode: Sync.Mode, type: Sync.Kind, settings: any ConnectorSettings) -> String? {
    guard mode == .mirror else { return nil }
    return "a rest destination cannot list its records yet, so mirror's first run could not find the ones absent from "
      + "the model; use mode: upsert with on_delete: delete, which deletes the records of rows that leave the model"
  }

  func readRefusal(_ settings: any ConnectorSettings) -> String? {
    "a rest destination cannot read its records back yet (no read: request), so drift cannot compare them"
  }

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    let settings = try destination.settings.typed(RESTSettings.self)
    return try RESTDestination(connection: settings.connection(name: destination.name.value), target: target)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    throw DestinationError(readRefusal(destination.settings) ?? "")
  }
}
