import BackflowConfig
import BackflowSources
import BackflowSyncLogs
import Foundation

/// `type: mysql` under `sources:`: models run in read-only sessions.
struct MySQLSourceDriver: SourceConnectorDriver {
  var kind: String { "mysql" }
  var keys: [String] { MySQLSettings.keys + [DriverFields.queryTimeoutKey] }
  var requiredKeys: [String] { MySQLSettings.keys }
  var example: String { "{ type: mysql, url: \"${SHOP_DB_URL}\" }" }
  var syncLogRefusal: String? {
    "sync logs are written to PostgreSQL and SQLite sources only; point sync_logs.source at one of those"
  }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { MySQLSettings(fields) }

  func modelReader(for source: Source, in directory: URL) throws -> any ModelReader {
    try MySQLModelReader(settings: source.settings.typed())
  }

  func syncLogStore(for source: Source, schema: String, in directory: URL) throws -> any SyncLogStore {
    throw SyncLogError(syncLogRefusal ?? "")
  }

  func syncLogLocation(of source: Source, schema: String) -> String {
    "source \"\(source.name.value)\""
  }
}
