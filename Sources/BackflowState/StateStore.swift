import BackflowConfig
import BackflowPostgres
import BackflowSQLite
import Foundation

/// Sync IDs, the config each sync was last applied with, snapshots and runs, in SQLite or
/// PostgreSQL with the same schema.
///
/// Opening for reading never creates anything: `plan` on a fresh repository sees an empty state.
public final class StateStore {
  /// The schema this Backflow writes; it reads this version and every older one.
  public static let schemaVersion = 1

  let database: (any StateDatabase)?
  /// Where the store is, so a lock can hold a connection of its own.
  let location: StateLocation
  let directory: URL
  /// The Backflow version that writes, when opened for writing; locks record it.
  let writer: String?
  private var transactionDepth = 0
  /// Syncs whose typed copy could not be written this session: left out of date (so never read)
  /// rather than failing the snapshot's writes, until the next run prepares it again.
  var typedCopyFailures: Set<Int> = []
  /// A random ID given to the state when it is created, so a plan can tell it was made against
  /// another state store.
  public private(set) var lineage: String?
  /// Whether the snapshot has its `destination_id` column: a store written before ids were kept
  /// lacks it until it is opened for writing.
  private(set) var keepsDestinationIDs = false

  private init(database: (any StateDatabase)?, location: StateLocation, directory: URL, writer: String?) {
    self.database = database
    self.location = location
    self.directory = directory
    self.writer = writer
  }

  /// Opens the state at `location` (a relative SQLite path is resolved against `directory`).
  ///
  /// Without `writer` (the Backflow version that writes) a missing store reads as empty; with it,
  /// the store is created or migrated.
  public static func open(_ location: StateLocation, in directory: URL, writer: String? = nil) throws -> StateStore {
    let forWriting = writer != nil
    let database: (any StateDatabase)?
    switch location {
    case let .sqlite(path):
      let url = directory.resolvingProjectPath(path)
      if !forWriting, !FileManager.default.fileExists(atPath: url.path) {
        database = nil
      } else {
        if forWriting {
          try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        // Reading opens read-write when it may: a run killed mid-transaction leaves a journal
        // that SQLite must roll back before anyone can read, and a read-only connection cannot.
        let readOnly = !forWriting && !FileManager.default.isWritableFile(atPath: url.path)
        database = try wrapped("open the state file \(path)") {
          try SQLiteDatabase(path: url.path, readOnly: readOnly)
        }
      }
    case let .postgres(conninfo):
      database = try wrapped("connect to the PostgreSQL state store") { try PostgresConnection(conninfo: conninfo) }
    }
    let store = StateStore(database: database, location: location, directory: directory, writer: writer)
    // Migrating reads the meta it leaves behind; reading alone reads it here.
    if let writer { try store.migrate(writer: writer) } else { try store.readMeta() }
    return store
  }

  /// Whether anything has ever been written.
  public var exists: Bool { lineage != nil }

  var connection: any StateDatabase {
    get throws {
      guard let database else { throw StateError("the state store has not been created yet") }
      return database
    }
  }

  func table(_ name: String) throws -> String { try connection.dialect.table(name) }

  // MARK: Schema

  private func readMeta() throws {
    guard let database else { return }
    let metaExists: Bool
    switch database.dialect {
    case .sqlite:
      metaExists = try !database.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'", []).isEmpty
    case .postgres:
      metaExists = try database.query("SELECT to_regclass('backflow_state.meta') IS NOT NULL", []).first?.first == "t"
    }
    guard metaExists else { return }
    var meta: [String: String] = [:]
    for row in try database.query("SELECT key, value FROM \(database.dialect.table("meta"))", []) {
      if let key = row[0], let value = row[1] { meta[key] = value }
    }
    guard let versionText = meta["schema_version"], let version = Int(versionText) else {
      throw StateError("the state store has no schema version; it was not written by Backflow")
    }
    guard version <= Self.schemaVersion else {
      throw StateError(
        "the state store has schema version \(version), written by Backflow \(meta["written_by"] ?? "newer than this one"); "
          + "this Backflow reads up to version \(Self.schemaVersion): upgrade Backflow")
    }
    lineage = meta["lineage"]
    keepsDestinationIDs = try destinationIDColumnExists()
  }

  /// Creates the schema, or brings an older one up to `schemaVersion`.
  ///
  /// On PostgreSQL, several processes (daemons started together) may find an empty store at once;
  /// `CREATE … IF NOT EXISTS` does not stop two of them creating the same object (one fails on a
  /// unique index of the catalog), so each migrates holding a transaction-level advisory lock, and
  /// the ones that waited find the schema made. Its two-part key never meets a sync lock's one-part
  /// key. On SQLite one writer at a time holds the file, so `IF NOT EXISTS` is enough there.
  private func migrate(writer: String) throws {
    let database = try connection
    guard database.dialect == .postgres else { return try migrateUnlocked(writer: writer) }
    try transaction {
      _ = try database.query("SELECT pg_advisory_xact_lock(1650879607, 1)", [])
      try migrateUnlocked(writer: writer)
    }
  }

  private func migrateUnlocked(writer: String) throws {
    try readMeta()
    if lineage == nil { try create(writer: writer) }
    // Version 1 is the only one yet; stores created before locking existed lack only this table.
    try ensureLocksTable()
    try ensureAlertTables()
    try ensureDestinationIDColumn()
    keepsDestinationIDs = true
    try ensureSnapshotVersionsTable()
    try ensureTypedCopiesTable()
  }

  /// Creates the version-1 schema in one transaction.
  private func create(writer: String) throws {
    let database = try connection
    let dialect = database.dialect
    let meta = dialect.table("meta")
    let syncs = dialect.table("syncs")
    let snapshots = dialect.table("snapshots")
    let runs = dialect.table("runs")
    let failedRows = dialect.table("failed_rows")
    let text = dialect.byteOrderedText
    try transaction {
      if dialect == .postgres { try database.execute("CREATE SCHEMA IF NOT EXISTS backflow_state") }
      try database.execute(
        """
        CREATE TABLE IF NOT EXISTS \(meta) (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS \(syncs) (
          id \(dialect.identityColumn),
          name TEXT NOT NULL,
          created_at TEXT NOT NULL,
          retired_at TEXT,
          serial BIGINT NOT NULL DEFAULT 0,
          config TEXT,
          config_hash TEXT,
          primary_key TEXT,
          git_commit TEXT,
          applied_at TEXT,
          pending_action TEXT,
          pending_requested_by TEXT,
          pending_requested_at TEXT,
          swept_at TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS syncs_active_name ON \(syncs) (name) WHERE retired_at IS NULL;
        CREATE TABLE IF NOT EXISTS \(snapshots) (
          sync_id BIGINT NOT NULL,
          row_key \(text) NOT NULL,
          fingerprint TEXT NOT NULL,
          match_value TEXT,
          destination_id TEXT,
          PRIMARY KEY (sync_id, row_key)
        )\(dialect == .sqlite ? " WITHOUT ROWID" : "");
        CREATE TABLE IF NOT EXISTS \(runs) (
          id \(dialect.identityColumn),
          sync_id BIGINT NOT NULL,
          status TEXT NOT NULL,
          error TEXT,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          git_commit TEXT,
          rows_queried BIGINT,
          planned_add BIGINT, planned_change BIGINT, planned_remove BIGINT,
          attempted_add BIGINT, attempted_change BIGINT, attempted_remove BIGINT,
          succeeded_add BIGINT, succeeded_change BIGINT, succeeded_remove BIGINT,
          failed_add BIGINT, failed_change BIGINT, failed_remove BIGINT,
          aborted_add BIGINT, aborted_change BIGINT, aborted_remove BIGINT
        );
        CREATE INDEX IF NOT EXISTS runs_sync ON \(runs) (sync_id, id);
        CREATE TABLE IF NOT EXISTS \(failedRows) (
          id \(dialect.identityColumn),
          run_id BIGINT NOT NULL,
          sync_id BIGINT NOT NULL,
          operation TEXT NOT NULL,
          row_key TEXT,
          reason TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS failed_rows_run ON \(failedRows) (run_id);
        """)
      let insertMeta = "INSERT INTO \(meta) (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
      try database.execute(insertMeta, ["schema_version", String(Self.schemaVersion)])
      try database.execute(insertMeta, ["lineage", UUID().uuidString.lowercased()])
      try database.execute(insertMeta, ["written_by", writer])
    }
    try readMeta()
  }

  /// Runs `body` in one transaction, rolled back if it throws. Inside another transaction it
  /// joins that one.
  public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
    let database = try connection
    if transactionDepth > 0 {
      transactionDepth += 1
      defer { transactionDepth -= 1 }
      return try body()
    }
    transactionDepth = 1
    defer { transactionDepth = 0 }
    return try Self.inTransaction(database, begin: "BEGIN", body)
  }

  // MARK: Syncs

  /// Every sync ever registered, retired ones included, by ID.
  public func syncs() throws -> [SyncRecord] {
    guard database != nil, exists else { return [] }
    let rows = try connection.query(
      """
      SELECT id, name, created_at, retired_at, serial, config, config_hash, primary_key, git_commit,
        applied_at, pending_action, pending_requested_by, pending_requested_at, swept_at
      FROM \(try table("syncs")) ORDER BY id
      """, [])
    return rows.map { row in
      SyncRecord(
        id: Int(row[0] ?? "") ?? 0, name: row[1] ?? "", createdAt: row[2] ?? "", retiredAt: row[3],
        serial: Int(row[4] ?? "") ?? 0, config: row[5], configHash: row[6], primaryKey: row[7],
        gitCommit: row[8], appliedAt: row[9],
        pending: row[10].flatMap(PendingRequest.Action.init(rawValue:)).map {
          PendingRequest(action: $0, requestedBy: row[11] ?? "", requestedAt: row[12] ?? "")
        }, sweptAt: row[13])
    }
  }

  /// Gives a new sync its ID.
  public func register(syncNamed name: String) throws -> Int {
    let rows = try connection.query(
      "INSERT INTO \(try table("syncs")) (name, created_at) VALUES ($1, $2) RETURNING id", [name, Self.now()])
    guard let id = rows.first?.first.flatMap({ $0.flatMap(Int.init) }) else {
      throw StateError("the state store did not return an ID for sync \"\(name)\"")
    }
    return id
  }

  /// Records the config a sync was applied with.
  public func recordApplied(
    syncID: Int, config: String, configHash: String, primaryKey: String, gitCommit: String?
  ) throws {
    try connection.execute(
      """
      UPDATE \(try table("syncs")) SET config = $1, config_hash = $2, primary_key = $3, git_commit = $4,
        applied_at = $5, serial = serial + 1 WHERE id = $6
      """, [config, configHash, primaryKey, gitCommit, Self.now(), String(syncID)])
  }

  /// Marks a sync retired: its name is free again, its ID stays taken, its snapshot is dropped.
  public func retire(syncID: Int) throws {
    try transaction {
      try connection.execute(
        "UPDATE \(try table("syncs")) SET retired_at = $1, serial = serial + 1 WHERE id = $2",
        [Self.now(), String(syncID)])
      try connection.execute("DELETE FROM \(try table("snapshots")) WHERE sync_id = $1", [String(syncID)])
      try dropTypedCopy(syncID: syncID)
    }
  }

  /// Sets (or with `nil`, cancels) the request the next run of a sync acts on.
  public func setPending(_ request: PendingRequest?, syncID: Int) throws {
    try connection.execute(
      """
      UPDATE \(try table("syncs")) SET pending_action = $1, pending_requested_by = $2, pending_requested_at = $3,
        serial = serial + 1 WHERE id = $4
      """, [request?.action.rawValue, request?.requestedBy, request?.requestedAt, String(syncID)])
  }

  static func now() -> String {
    Date().formatted(.iso8601)
  }

  /// Turns a driver's error into one that says which step failed.
  private static func wrapped<Result>(_ step: String, _ body: () throws -> Result) throws -> Result {
    do {
      return try body()
    } catch {
      throw StateError("could not \(step): \(error)")
    }
  }
}
