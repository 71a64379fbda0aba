import BackflowConfig
import BackflowDestinations
import Foundation

/// `type: http`: the generic JSON protocol, one `POST {url}/{object}` per batch.
struct HTTPDestinationDriver: DestinationConnectorDriver {
  var kind: String { "http" }
  var keys: [String] { HTTPSettings.keys }
  var requiredKeys: [String] { ["url"] }
  var locationKeys: [String] { ["url"] }
  var example: String { "{ type: http, url: \"http://127.0.0.1:8080\" }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { HTTPSettings(fields) }

  /// Without the read endpoints the protocol cannot list records, so mirror's first run could not
  /// find the ones absent from the model; `clear` empties a list.
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities {
    var capabilities = DestinationCapabilities.everything
    capabilities.clearable = [.list]
    capabilities.nestsFields = true
    if (try? settings.typed(HTTPSettings.self))?.isReadable != true {
      capabilities.modes[.object]?.remove(.mirror)
      capabilities.readsBack = false
    }
    return capabilities
  }

  func modeRefusal(_ mode: Sync.Mode, type: Sync.Kind, settings: any ConnectorSettings) -> String? {
    guard mode == .mirror else { return nil }
    return "without the read endpoints the HTTP protocol cannot list records, so mirror's first run could not find the ones "
      + "absent from the model; declare readable: true on the destination if its server implements POST {url}/{object}/keys "
      + "(docs/destinations.md), or use mode: upsert with on_delete: delete, which deletes the records of rows that leave "
      + "the model from now on"
  }

  func clearRefusal(type: Sync.Kind, object: String) -> String? {
    "is an HTTP destination, and the protocol's `clear` operation empties lists only; the records of "
      + "\(type == .event ? "an event" : "an object") sync can only be deleted one by one, and the protocol cannot list "
      + "them. Resync without --clear, or empty \(object) in the API itself first"
  }

  func readRefusal(_ settings: any ConnectorSettings) -> String? {
    guard (try? settings.typed(HTTPSettings.self))?.isReadable != true else { return nil }
    return "the destination does not declare readable: true, so its records cannot be read back (the HTTP protocol "
      + "reads records only through the read endpoints, docs/destinations.md)"
  }

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    let settings = try destination.settings.typed(HTTPSettings.self)
    return try HTTPDestination(
      baseURL: settings.url.value, headers: settings.headerPairs, timeout: settings.requestTimeout, target: target,
      name: destination.name.value, retryPolicy: settings.retryPolicy, readable: settings.isReadable)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    let settings = try destination.settings.typed(HTTPSettings.self)
    return try HTTPDestinationReader(
      baseURL: settings.url.value, headers: settings.headerPairs, timeout: settings.requestTimeout,
      retryPolicy: settings.retryPolicy, target: target, name: destination.name.value)
  }
}
