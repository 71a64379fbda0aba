import BackflowConfig
import BackflowSources
import BackflowSyncLogs
import Foundation

/// `type: postgres` under `sources:`.
struct PostgresSourceDriver: SourceConnectorDriver {
  var kind: String { "postgres" }
  var keys: [String] { PostgresSettings.keys + [DriverFields.queryTimeoutKey] }
  var requiredKeys: [String] { PostgresSettings.keys }
  var example: String { "{ type: postgres, url: \"${WAREHOUSE_URL}\" }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { PostgresSettings(fields) }

  func modelReader(for source: Source, in directory: URL) throws -> any ModelReader {
    let settings = try source.settings.typed(PostgresSettings.self)
    return try PostgresModelReader(conninfo: settings.url.value, queryTimeout: settings.queryTimeout?.value)
  }

  func syncLogStore(for source: Source, schema: String, in directory: URL) throws -> any SyncLogStore {
    try PostgresSyncLogStore(conninfo: source.settings.typed(PostgresSettings.self).url.value, schema: schema)
  }

  func syncLogLocation(of source: Source, schema: String) -> String {
    "source \"\(source.name.value)\", schema \(schema)"
  }
}
