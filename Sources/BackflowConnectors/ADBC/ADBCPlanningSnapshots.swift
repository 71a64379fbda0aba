import BackflowADBC
import BackflowSources
import BackflowState
import BackflowSyncLogs

/// The snapshot copies of warehouse planning in a schema of a postgres-dialect ADBC source,
/// written with autocommit off, so each change is one transaction. The driver takes no
/// parameters everywhere, so values are written as literals.
final class ADBCPlanningSnapshots: PlanningSnapshots {
  private let connection: ADBCConnection
  private let tables: PlanningTables
  private let dialect = ADBCDialect.postgres
  /// Rows per statement, as sync logs write them.
  private static let rowsPerStatement = 250

  init(database: ADBCDatabase, schema: String) throws {
    tables = PlanningTables(schema: schema)
    connection = try database.connect()
    try connection.setOption("adbc.connection.autocommit", "false")
  }

  var location: String { "schema \(tables.schema)" }

  func version(syncID: Int) throws -> WarehouseSnapshotVersion? {
    defer { try? connection.rollback() }
    return try tables.version(syncID: syncID, on: connection)
  }

  func count(syncID: Int) throws -> Int {
    defer { try? connection.rollback() }
    let rows = try connection.textRows(tables.snapshot(syncID: syncID).count)
    guard let text = rows.first?.first ?? nil, let count = Int(text) else {
      throw SourceError("the count of the snapshot copy in \(location) is not a number")
    }
    return count
  }

  func advance(
    syncID: Int, entries: [SnapshotEntry], newEntries: [SnapshotEntry], removedKeys: [String],
    to version: WarehouseSnapshotVersion
  ) throws {
    try transaction {
      // A changed row's entry is replaced: deleted with the removed keys, then inserted anew.
      let gone = removedKeys + entries.map(\.key)
      for start in stride(from: 0, to: gone.count, by: Self.rowsPerStatement) {
        let keys = gone[start..<min(start + Self.rowsPerStatement, gone.count)].map(dialect.literal)
        try connection.execute(
          "DELETE FROM \(tables.snapshots) WHERE sync_id = \(syncID) AND row_key IN (\(keys.joined(separator: ", ")))")
      }
      var rows = (entries + newEntries).makeIterator()
      try insert(syncID: syncID) { rows.next() }
      try setVersion(version, syncID: syncID)
    }
  }

  func replace(syncID: Int, with snapshot: SnapshotStream, at version: WarehouseSnapshotVersion) throws {
    try transaction {
      for statement in tables.creation { try connection.execute(statement) }
      try connection.execute("DELETE FROM \(tables.snapshots) WHERE sync_id = \(syncID)")
      try insert(syncID: syncID, snapshot.next)
      try setVersion(version, syncID: syncID)
    }
  }

  private func insert(syncID: Int, _ next: () throws -> SnapshotEntry?) throws {
    try insertValues(
      on: connection, into: "\(tables.snapshots) (sync_id, row_key, fingerprint, match_value)",
      perStatement: Self.rowsPerStatement
    ) {
      try next().map { entry in
        "(\(syncID), \(dialect.literal(entry.key)), \(dialect.literal(entry.fingerprint)), "
          + "\(entry.matchValue.map(dialect.literal) ?? "NULL"))"
      }
    }
  }

  private func setVersion(_ version: WarehouseSnapshotVersion, syncID: Int) throws {
    try connection.execute(
      """
      INSERT INTO \(tables.versions) (sync_id, lineage, version) VALUES (\(syncID), \(dialect.literal(version.lineage)), \(version.version))
      ON CONFLICT (sync_id) DO UPDATE SET lineage = excluded.lineage, version = excluded.version
      """)
  }

  private func transaction(_ body: () throws -> Void) throws {
    do {
      try body()
      try connection.commit()
    } catch {
      try? connection.rollback()
      throw error
    }
  }
}
