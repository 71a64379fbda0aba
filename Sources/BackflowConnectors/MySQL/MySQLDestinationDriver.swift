import BackflowConfig
import BackflowDestinations
import Foundation

/// `type: mysql` under `destinations:`: `object` is a table, `table` or `database.table`.
struct MySQLDestinationDriver: DestinationConnectorDriver {
  var kind: String { "mysql" }
  var keys: [String] { MySQLSettings.keys }
  var requiredKeys: [String] { MySQLSettings.keys }
  var locationKeys: [String] { ["url"] }
  var example: String { "{ type: mysql, url: \"${CRM_MYSQL_URL}\" }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { MySQLSettings(fields) }
  func capabilities(_ settings: any ConnectorSettings) -> DestinationCapabilities { .everything }
  func readRefusal(_ settings: any ConnectorSettings) -> String? { nil }

  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    MySQLDestination(settings: try destination.settings.typed(), target: target)
  }

  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    try TableDestinationReader(session: MySQLDestinationSession(settings: destination.settings.typed()), target: target)
  }
}
