import BackflowConfig
import BackflowSources
import BackflowSyncLogs
import Foundation

/// `type: sqlite` under `sources:`, opened read-only.
struct SQLiteSourceDriver: SourceConnectorDriver {
  var kind: String { "sqlite" }
  var keys: [String] { SQLiteSettings.keys + [DriverFields.queryTimeoutKey] }
  var requiredKeys: [String] { SQLiteSettings.keys }
  var example: String { "{ type: sqlite, path: demo/warehouse.db }" }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { SQLiteSettings(fields) }

  func modelReader(for source: Source, in directory: URL) throws -> any ModelReader {
    let settings = try source.settings.typed(SQLiteSettings.self)
    do {
      return try SQLiteModelReader(path: settings.existingFile(in: directory), queryTimeout: settings.queryTimeout?.value)
    } catch let error as ConnectorError {
      throw SourceError(error.message)
    }
  }

  func syncLogStore(for source: Source, schema: String, in directory: URL) throws -> any SyncLogStore {
    let settings = try source.settings.typed(SQLiteSettings.self)
    do {
      return try SQLiteSyncLogStore(path: settings.existingFile(in: directory), prefix: schema)
    } catch let error as ConnectorError {
      throw SyncLogError(error.message)
    }
  }

  func syncLogLocation(of source: Source, schema: String) -> String {
    "source \"\(source.name.value)\", tables \(schema)_sync_*"
  }
}
