import BackflowConfig
import BackflowSources

/// The sync log tables in one database: a PostgreSQL schema or a SQLite file.
public protocol SyncLogStore: AnyObject {
  /// Writes one run in one transaction, creating the tables first if they are missing: the
  /// `sync_runs` row, each changelog row, then the sync's snapshot replaced by the run's changelog
  /// rows that are not removals plus each `unchanged` row. Rows are pulled one at a time, so
  /// memory does not grow with their number. Nothing is kept when it throws.
  func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws

  /// `write`, where the plan left most unchanged rows in this warehouse (Spark planning): the
  /// snapshot also gets each row of `staged` that no changelog or `unchanged` row names.
  func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?, staged: WarehouseSnapshotRows
  ) throws
}

extension SyncLogStore {
  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?, staged: WarehouseSnapshotRows
  ) throws {
    // The planner leaves rows only in a warehouse whose store reads them; a mismatch must not
    // lose rows from the snapshot.
    throw SyncLogError("this source's sync logs cannot read rows kept in the warehouse; the run's snapshot is not written")
  }
}

/// What differs between the databases sync logs are written to; the write itself
/// (`SyncLogStore.write`) is the same for every one.
protocol SyncLogDatabase: SyncLogStore {
  /// Set once the tables are known to exist with the right columns, so later runs skip the check.
  var isReady: Bool { get set }
  /// The statement that opens the write's transaction.
  var begin: String { get }
  /// The table as statements name it, quoted.
  func name(_ table: SyncLogTable) -> String
  /// The table as messages name it.
  func shown(_ table: SyncLogTable) -> String
  /// Runs one statement with text parameters `$1`, `$2`…
  func execute(_ sql: String, _ parameters: [String?]) throws
  /// Adds every row `next` gives to `table`, holding few of them at a time.
  func insert(into table: SyncLogTable, _ next: () throws -> [String?]?) throws
  /// Creates whichever tables are missing and checks the columns of those that exist.
  func prepare() throws
  /// Opens the write's transaction, ends it, or undoes it; by default the SQL statements.
  func beginTransaction() throws
  func commit() throws
  func rollback() throws
}

extension SyncLogDatabase {
  func beginTransaction() throws { try execute(begin, []) }
  func commit() throws { try execute("COMMIT", []) }
  func rollback() throws { try execute("ROLLBACK", []) }

  /// `SyncLogStore.write`, the same for every database.
  func writeRun(
    _ run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws {
    try step("could not start a transaction") { try beginTransaction() }
    do {
      if !isReady { try prepare() }
      let runs = SyncLogTable.runs
      let placeholders = (1...runs.columns.count).map { "$\($0)" }.joined(separator: ", ")
      try step("could not insert the run into \(shown(runs))") {
        try execute("INSERT INTO \(name(runs)) (\(runs.columnList)) VALUES (\(placeholders))", run)
      }
      try insert(into: .changelog, changelog)
      let snapshot = SyncLogTable.snapshot
      try step("could not replace the sync's rows in \(shown(snapshot))") {
        try execute("DELETE FROM \(name(snapshot)) WHERE sync_id = $1", [syncID])
        try execute(
          """
          INSERT INTO \(name(snapshot)) (\(snapshot.columnList))
          SELECT \(snapshot.columnList) FROM \(name(.changelog))
          WHERE sync_run_id = $2 AND sync_id = $1 AND op_type <> 'removed'
          """, [syncID, runID])
      }
      try insert(into: .snapshot, unchanged)
      try step("could not commit") { try commit() }
      isReady = true
    } catch {
      // The database may have rolled back already (a lost connection, a full disk); then there
      // is nothing to undo and the error says why.
      try? rollback()
      throw error
    }
  }
}

/// Runs one step of a write, turning a database's error into one that says which step failed;
/// a `SyncLogError` (from reading rows, or a step inside) passes through unchanged.
func step<Result>(_ what: @autoclosure () -> String, _ body: () throws -> Result) throws -> Result {
  do {
    return try body()
  } catch let error as SyncLogError {
    throw error
  } catch {
    throw SyncLogError("\(what()): \(error)")
  }
}
