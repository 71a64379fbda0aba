import BackflowADBC
import BackflowConfig
import BackflowSources
import BackflowSyncLogs
import Foundation

/// `type: adbc` under `sources:`: any warehouse with an ADBC driver (Snowflake, BigQuery, Spark,
/// PostgreSQL, SQLite, Flight SQL…). See docs/adbc.md.
struct ADBCSourceDriver: SourceConnectorDriver {
  var kind: String { "adbc" }
  var keys: [String] { ADBCSettings.keys + [DriverFields.queryTimeoutKey] }
  var requiredKeys: [String] { ["driver"] }
  var example: String {
    "{ type: adbc, driver: adbc_driver_postgresql, options: { uri: \"${WAREHOUSE_URL}\" } }"
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
    return try ADBCModelReader(
      database: database, dialect: settings.dialect.value, queryTimeout: settings.queryTimeout?.value,
      planningSchema: settings.planning?.value)
  }

  /// Warehouse planning's snapshots are written on a connection of their own too.
  func planningSnapshots(for source: Source, in directory: URL) throws -> PlanningCopy? {
    let settings = try source.settings.typed(ADBCSettings.self)
    guard let schema = settings.planning?.value else { return nil }
    let database = try settings.database(in: directory)
    return settings.dialect.value == .spark
      ? .computed(try SparkPlanningSnapshots(database: database, schema: schema))
      : .advanced(try ADBCPlanningSnapshots(database: database, schema: schema))
  }

  /// Sync logs write on a connection of their own, apart from the models' read-only one.
  func syncLogStore(for source: Source, schema: String, in directory: URL) throws -> any SyncLogStore {
    let settings = try source.settings.typed(ADBCSettings.self)
    do {
      let database = try settings.database(in: directory)
      if settings.dialect.value == .spark { return try SparkSyncLogStore(database: database, schema: schema) }
      return try ADBCSyncLogStore(database: database, dialect: settings.dialect.value, schema: schema)
    } catch let error as ADBCError {
      throw SyncLogError(error.message)
    }
  }

  func syncLogLocation(of source: Source, schema: String) -> String {
    let settings = try? source.settings.typed(ADBCSettings.self)
    return settings?.dialect.value == .sqlite
      ? "source \"\(source.name.value)\", tables \(schema)_sync_*" : "source \"\(source.name.value)\", schema \(schema)"
  }
}
