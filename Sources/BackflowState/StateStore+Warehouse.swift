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

  /// Whether the store is a PostgreSQL database, created yet or not: one that can keep typed
  /// copies (`TypedCopy`).
  public var isPostgres: Bool { database is PostgresConnection }

  /// Runs `body` with the store's PostgreSQL session marked, so that a model's source can tell
  /// whether it reaches the same database ([PostgresSessionMark]); `nil` for a SQLite store.
  public func withSessionMark<Result>(_ body: (PostgresSessionMark) throws -> Result) throws -> Result? {
    guard let connection = database as? PostgresConnection else { return nil }
    return try connection.withSessionMark(body)
  }
}

extension StateStore {
  /// The version of a sync's snapshot: it advances with every change to the snapshot, so a copy
  /// kept in a warehouse for planning (docs/adbc.md) is usable only while it is at this version.
  /// 0 for a snapshot never written.
  public func snapshotVersion(syncID: Int) throws -> Int {
    guard exists, try tableExists("snapshot_versions") else { return 0 }
    let rows = try connection.query(
      "SELECT version FROM \(try table("snapshot_versions")) WHERE sync_id = $1", [String(syncID)])
    return rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
  }

  /// Inside the transaction that changes a sync's snapshot.
  func advanceSnapshotVersion(syncID: String) throws {
    let versions = try table("snapshot_versions")
    try connection.execute(
      "INSERT INTO \(versions) (sync_id, version) VALUES ($1, 1) ON CONFLICT (sync_id) DO UPDATE SET version = \(versions).version + 1",
      [syncID])
  }

  /// Creates the table of snapshot versions when it is missing: in new stores, and in version-1
  /// stores written before warehouse planning existed.
  func ensureSnapshotVersionsTable() throws {
    guard try !tableExists("snapshot_versions") else { return }
    let database = try connection
    do {
      try database.execute(
        "CREATE TABLE IF NOT EXISTS \(database.dialect.table("snapshot_versions")) (sync_id BIGINT PRIMARY KEY, version BIGINT NOT NULL)")
    } catch {
      // Two processes creating it at once on PostgreSQL: one of them fails, and the table exists.
      guard try tableExists("snapshot_versions") else { throw error }
    }
  }
}
