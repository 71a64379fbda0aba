import BackflowPostgres

extension StateStore {
  /// The snapshots table as a connection to the same PostgreSQL database names it; `nil` for a
  /// SQLite store or one not created yet.
  public var postgresSnapshotsTable: String? {
    guard exists, let database, database.dialect == .postgres else { return nil }
    return database.dialect.table("snapshots")
  }

  /// How a connection to the same PostgreSQL database reads `syncID`'s snapshot: its entries as
  /// `row_key`, `fingerprint`, `match_value`, and their count (`WarehouseSnapshot`).
  public func warehouseSnapshot(syncID: Int) -> (entries: String, count: String)? {
    guard let table = postgresSnapshotsTable else { return nil }
    return (
      "SELECT row_key, fingerprint, match_value FROM \(table) WHERE sync_id = \(syncID)",
      "SELECT count(*) FROM \(table) WHERE sync_id = \(syncID)"
    )
  }

  /// Runs `body` with the store's PostgreSQL session marked, so that a model's source can tell
  /// whether it reaches the same database ([PostgresSessionMark]); `nil` for a SQLite store or
  /// one not created yet.
  public func withSessionMark<Result>(_ body: (PostgresSessionMark) throws -> Result) throws -> Result? {
    guard exists, let connection = database as? PostgresConnection else { return nil }
    return try connection.withSessionMark(body)
  }
}
