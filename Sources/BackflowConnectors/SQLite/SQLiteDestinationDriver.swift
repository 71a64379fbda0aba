import BackflowConfig
import BackflowDestinations
import Foundation

/// `type: sqlite` under `destinations:`: `object` is a table; the file is created if missing.
struct SQLiteDestinationDriver: DestinationConnectorDriver {
  var kind: String { "sqlite" }
  var keys: [String] { SQLiteSettings.keys }
  var requiredKeys: [String] { SQLiteSettings.keys }
  var locationKeys: [String] { ["path"] }
  var example: String { "{ type: sqlite, path: demo/crm.db }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { SQLiteSettings(fields) }
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities { .everything }
  func readRefusal(_ settings: any ConnectorSettings) -> String? { nil }

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    SQLiteDestination(path: try file(destination, in: directory), target: target)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    let path = try file(destination, in: directory)
    return try TableDestinationReader(session: SQLiteDestinationSession(path: path, target: target), target: target)
  }

  private func file(_ destination: Destination, in directory: URL) throws -> String {
    directory.resolvingProjectPath(try destination.settings.typed(SQLiteSettings.self).path.value).path
  }
}
