import BackflowConfig
import BackflowDestinations
import Foundation

/// `type: file`: one CSV or JSON Lines file per sync, written atomically at the end of a run.
struct FileDestinationDriver: DestinationConnectorDriver {
  var kind: String { "file" }
  var keys: [String] { FileSettings.keys }
  var requiredKeys: [String] { ["dir"] }
  var locationKeys: [String] { ["dir"] }
  var example: String { "{ type: file, dir: out }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { FileSettings(fields) }
  /// A JSON Lines record is an object, so a dotted `to` writes a nested field; a CSV column is flat.
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities {
    var capabilities = DestinationCapabilities.everything
    capabilities.nestsFields = ((try? settings.typed(FileSettings.self))?.format?.value ?? .jsonl) == .jsonl
    return capabilities
  }

  func readRefusal(_ settings: any ConnectorSettings) -> String? {
    "the destination cannot be read back: drift reads database tables and readable http destinations only"
  }

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    let settings = try destination.settings.typed(FileSettings.self)
    return FileDestination(
      directory: directory.resolvingProjectPath(settings.dir.value), format: settings.format?.value ?? .jsonl,
      target: target)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    throw DestinationError(readRefusal(destination.settings) ?? "")
  }
}
