import BackflowADBC
import BackflowConfig
import BackflowSources
import BackflowSyncLogs
import Foundation

/// `type: adbc` under `sources:`: any warehouse with an ADBC driver (Snowflake, BigQuery, Spark,
/// PostgreSQL, SQLite, Flight SQL…). See docs/adbc.md.
struct ADBCSourceDriver: SourceConnectorDriver {
  var kind: String { "adbc" }
  var keys: [String] { ADBCSettings.keys }
  var requiredKeys: [String] { ["driver"] }
  var example: String {
    "{ type: adbc, driver: adbc_driver_postgresql, options: { uri: \"${WAREHOUSE_URL}\" } }"
  }
  var syncLogRefusal: String? {
    "sync logs are not written to ADBC sources yet; point sync_logs.source at a PostgreSQL or SQLite source"
  }

  func settings(_ fields: DriverFields) -> (any ConnectorSettings)? { ADBCSettings(fields) }

  func modelReader(for source: Source, in directory: URL) throws -> any ModelReader {
    let settings = try source.settings.typed(ADBCSettings.self)
    let database: ADBCDatabase
    do {
      database = try settings.database(in: directory)
    } catch let error as ADBCError {
      throw SourceError(error.message, kind: .connection)
    }
    return try ADBCModelReader(database: database, dialect: settings.dialect.value)
  }

  func syncLogStore(for source: Source, schema: String, in directory: URL) throws -> any SyncLogStore {
    throw SyncLogError(syncLogRefusal ?? "")
  }

  func syncLogLocation(of source: Source, schema: String) -> String {
    "source \"\(source.name.value)\""
  }
}
