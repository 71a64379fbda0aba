import BackflowSQLite

/// The sync log tables in a SQLite source's own file, named `{schema}_sync_runs` and so on, since
/// SQLite has no schemas: a model query on that file can JOIN them without ATTACH.
public final class SQLiteSyncLogStore: SyncLogDatabase {
  private let database: SQLiteDatabase
  private let prefix: String
  var isReady = false
  /// IMMEDIATE takes the write lock now, so a concurrent writer waits (busy timeout) here
  /// instead of failing midway when a read lock cannot be upgraded.
  let begin = "BEGIN IMMEDIATE"

  /// Rows per INSERT: the driver compiles each statement afresh, so many rows share one
  /// compilation; 250 × 7 parameters stays far below SQLite's limit of 32,766.
  static let rowsPerStatement = 250

  public init(path: String, prefix: String) throws {
    database = try step("could not open the SQLite database") { try SQLiteDatabase(path: path) }
    self.prefix = prefix
  }

  /// The table's name in the file, quoted.
  func name(_ table: SyncLogTable) -> String { SQLiteDatabase.quoteIdentifier(shown(table)) }

  /// The table's name in the file.
  func shown(_ table: SyncLogTable) -> String { "\(prefix)_\(table.rawValue)" }

  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws {
    try writeRun(run, syncID: syncID, runID: runID, changelog: changelog, unchanged: unchanged)
  }

  func execute(_ sql: String, _ parameters: [String?]) throws {
    _ = try database.query(sql, parameters)
  }

  /// Inserts rows in statements of `rowsPerStatement` rows, holding no more than that in memory.
  func insert(into table: SyncLogTable, _ next: () throws -> [String?]?) throws {
    let what = "could not write rows into \(shown(table))"
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
    return "INSERT INTO \(name(table)) (\(table.columnList)) VALUES \(values)"
  }

  /// The column names of table `$1`.
  static let columnsQuery = "SELECT name FROM pragma_table_info($1)"

  /// Creates whichever tables are missing and checks the columns of those that exist.
  ///
  /// SQLite types are affinities, so only column names are checked.
  func prepare() throws {
    for table in SyncLogTable.allCases {
      let columns = try step("could not read the columns of \(shown(table))") {
        try database.query(Self.columnsQuery, [shown(table)])
      }
      if columns.isEmpty {
        try step("could not create the table \(shown(table))") {
          try database.execute(
            table.createSQL(name: name(table), typeOf: \.sqliteType) { SQLiteDatabase.quoteIdentifier("\(prefix)_\($0)") })
        }
      } else if let mismatch = table.mismatch(
        existing: columns.map { ($0[0] ?? "", nil) }, expectedType: { _ in nil })
      {
        throw table.refusal(shown: shown(table), mismatch, other: "prefix")
      }
    }
  }
}
