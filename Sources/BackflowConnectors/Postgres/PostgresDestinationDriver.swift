import BackflowConfig
import BackflowDestinations
import Foundation

/// `type: postgres` under `destinations:`: `object` is a table.
struct PostgresDestinationDriver: DestinationConnectorDriver {
  var kind: String { "postgres" }
  var keys: [String] { PostgresSettings.keys }
  var requiredKeys: [String] { PostgresSettings.keys }
  var locationKeys: [String] { ["url"] }
  var example: String { "{ type: postgres, url: \"${CRM_DB_URL}\" }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { PostgresSettings(fields) }
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities { .everything }
  func readRefusal(_ settings: any ConnectorSettings) -> String? { nil }

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    PostgresDestination(conninfo: try destination.settings.typed(PostgresSettings.self).url.value, target: target)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    let conninfo = try destination.settings.typed(PostgresSettings.self).url.value
    return try TableDestinationReader(session: PostgresDestinationSession(conninfo: conninfo), target: target)
  }
}
