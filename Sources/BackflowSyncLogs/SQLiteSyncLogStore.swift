import BackflowSQLite

/// The sync log tables in a SQLite source's own file, named `{schema}_sync_runs` and so on, since
/// SQLite has no schemas: a model query on that file can JOIN them without ATTACH.
public final class SQLiteSyncLogStore: SyncLogStore {
  private let database: SQLiteDatabase
  private let prefix: String
  /// Set once the tables are known to exist with the right columns, so later runs skip the check.
  private var isReady = false

  /// Rows per INSERT: the driver compiles each statement afresh, so many rows share one
  /// compilation; 250 × 7 parameters stays far below SQLite's limit of 32,766.
  static let rowsPerStatement = 250

  public init(path: String, prefix: String) throws {
    database = try step("could not open the SQLite database") { try SQLiteDatabase(path: path) }
    self.prefix = prefix
  }

  /// The table's name in the file.
  private func name(_ table: SyncLogTable) -> String { "\(prefix)_\(table.rawValue)" }

  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws {
    // IMMEDIATE takes the write lock now, so a concurrent writer waits (busy timeout) here
    // instead of failing midway when a read lock cannot be upgraded.
    try step("could not start a transaction") { try database.execute("BEGIN IMMEDIATE") }
    do {
      if !isReady { try prepare() }
      let runs = SyncLogTable.runs
      try step("could not insert the run into \(name(runs))") {
        _ = try database.query(insertSQL(runs, rows: 1), run)
      }
      try insert(into: .changelog, changelog)
      let snapshot = SyncLogTable.snapshot
      try step("could not replace the sync's rows in \(name(snapshot))") {
        _ = try database.query("DELETE FROM \(SQLiteDatabase.quoteIdentifier(name(snapshot))) WHERE sync_id = $1", [syncID])
        _ = try database.query(
          """
          INSERT INTO \(SQLiteDatabase.quoteIdentifier(name(snapshot))) (\(snapshot.columnList))
          SELECT \(snapshot.columnList) FROM \(SQLiteDatabase.quoteIdentifier(name(.changelog)))
          WHERE sync_run_id = $2 AND sync_id = $1 AND op_type <> 'removed'
          """, [syncID, runID])
      }
      try insert(into: .snapshot, unchanged)
      try step("could not commit") { try database.execute("COMMIT") }
      isReady = true
    } catch {
      // SQLite may have rolled back already (a full disk does); then there is nothing to undo.
      try? database.execute("ROLLBACK")
      throw error
    }
  }

  /// Inserts rows in statements of `rowsPerStatement` rows, holding no more than that in memory.
  private func insert(into table: SyncLogTable, _ next: () throws -> [String?]?) throws {
    let what = "could not write rows into \(name(table))"
    let fullSQL = insertSQL(table, rows: Self.rowsPerStatement)
    var pending: [String?] = []
    var count = 0
    pending.reserveCapacity(Self.rowsPerStatement * table.columns.count)
    while let row = try next() {
      pending.append(contentsOf: row)
      count += 1
      if count == Self.rowsPerStatement {
        try step(what) { _ = try database.query(fullSQL, pending) }
        pending.removeAll(keepingCapacity: true)
        count = 0
      }
    }
    if count > 0 {
      try step(what) { _ = try database.query(insertSQL(table, rows: count), pending) }
    }
  }

  /// `INSERT INTO table (columns) VALUES (?, …), …` for `rows` rows.
  private func insertSQL(_ table: SyncLogTable, rows: Int) -> String {
    let row = "(" + Array(repeating: "?", count: table.columns.count).joined(separator: ", ") + ")"
    let values = Array(repeating: row, count: rows).joined(separator: ", ")
    return "INSERT INTO \(SQLiteDatabase.quoteIdentifier(name(table))) (\(table.columnList)) VALUES \(values)"
  }

  /// Creates whichever tables are missing and checks the columns of those that exist.
  ///
  /// SQLite types are affinities, so only column names are checked.
  private func prepare() throws {
    for table in SyncLogTable.allCases {
      let columns = try step("could not read the columns of \(name(table))") {
        try database.query("SELECT name FROM pragma_table_info($1)", [name(table)])
      }
      if columns.isEmpty {
        try step("could not create the table \(name(table))") {
          try database.execute(
            table.createSQL(name: SQLiteDatabase.quoteIdentifier(name(table)), typeOf: \.sqliteType) { SQLiteDatabase.quoteIdentifier("\(prefix)_\($0)") })
        }
      } else if let mismatch = table.mismatch(
        existing: columns.map { ($0[0] ?? "", nil) }, expectedType: { _ in nil })
      {
        throw SyncLogError(
          "the existing table \(name(table)) \(mismatch); drop or rename it so Backflow can create it, "
            + "or set sync_logs.schema to another prefix")
      }
    }
  }
}
