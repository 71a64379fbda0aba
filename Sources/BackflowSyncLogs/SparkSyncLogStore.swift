import BackflowADBC
import BackflowSources

/// The sync log tables in a Spark schema, through `adbc_driver_spark`.
///
/// That driver takes SQL text only, Spark's Parquet tables take no UPDATE or DELETE, and there
/// are no transactions. So a run's rows are first written into staging tables of their own (as
/// multi-row `INSERT … VALUES` of Spark literals), then published one statement per table: the
/// sync's new snapshot becomes the current version under the `sync_snapshot` view (one table per
/// sync and run, `sync_snapshot_s{sync}_r{run}`, swapped in with `CREATE OR REPLACE VIEW` once it
/// is complete), then the changelog is appended, then the `sync_runs` row, so a run that has its
/// `sync_runs` row is complete. See docs/sync-logs.md.
public final class SparkSyncLogStore: SyncLogStore {
  private let connection: ADBCConnection
  private let schema: String
  private let dialect = ADBCDialect.spark
  private var isReady = false

  /// Each statement is a Spark job of its own (about 0.1 s however small); measured through the
  /// driver, 4,000 rows a statement wrote about 7,800 rows/s, 1,000 rows 3,800 and 20,000 rows
  /// 5,300 (docs/decisions.md).
  static let rowsPerStatement = 4000

  public init(database: ADBCDatabase, schema: String) throws {
    self.schema = schema
    connection = try step("could not connect") { try database.connect() }
  }

  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws {
    try write(run: run, syncID: syncID, runID: runID, changelog: changelog, unchanged: unchanged, staged: nil)
  }

  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?, staged: WarehouseSnapshotRows
  ) throws {
    try write(run: run, syncID: syncID, runID: runID, changelog: changelog, unchanged: unchanged, staged: .some(staged))
  }

  private func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?, staged rows: WarehouseSnapshotRows?
  ) throws {
    // Planning kept the stage for this write only; the next apply stages the model anew.
    defer { if let rows { try? connection.execute("DROP TABLE IF EXISTS \(rows.stage)") } }
    // Both become parts of table names.
    guard UInt(syncID) != nil, UInt(runID) != nil else {
      throw SyncLogError("the sync ID \(syncID) and run ID \(runID) must be numbers")
    }
    if !isReady { try prepare() }
    // A write killed part-way leaves its staging tables behind; this sync's runs never overlap
    // (the sync's lock), so any found are dead.
    try step("could not drop the staging tables an interrupted write left") {
      for table in try tables(like: "sync_*_s\(syncID)_r*_staging") {
        try connection.execute("DROP TABLE IF EXISTS \(name(table))")
      }
    }
    let changes = "sync_changelog_s\(syncID)_r\(runID)_staging"
    let version = "sync_snapshot_s\(syncID)_r\(runID)"
    let staged = version + "_staging"
    var published = false
    do {
      try step("could not stage the run's changelog rows") {
        try create(changes, as: .changelog)
        try insert(into: changes, .changelog, changelog)
      }
      try step("could not write the sync's new snapshot \(schema).\(version)") {
        try create(staged, as: .snapshot)
        try insert(into: staged, .snapshot, unchanged)
        let columns = SyncLogTable.snapshot.columnList
        try connection.execute(
          "INSERT INTO \(name(staged)) SELECT \(columns) FROM \(name(changes)) WHERE op_type <> 'removed'")
        if let rows {
          // The rows the plan left in the warehouse: every staged row no row above names.
          try connection.execute(
            """
            INSERT INTO \(name(staged))
            SELECT \(syncID), 'unchanged', kept.row_id, 'succeeded', CAST(NULL AS STRING), kept.fields FROM (
            \(rows.query)
            ) AS kept LEFT ANTI JOIN (SELECT row_id FROM \(name(staged)) WHERE row_id IS NOT NULL) AS listed
              ON listed.row_id = kept.row_id
            """)
        }
        // Complete: only now does it get the name a version has.
        try connection.execute("ALTER TABLE \(name(staged)) RENAME TO \(name(version))")
      }
      try step("could not make \(schema).\(version) the current version of \(shown(.snapshot))") {
        try publish(version, sync: syncID)
      }
      published = true
      try step("could not append the run's rows to \(shown(.changelog))") {
        try connection.execute(
          "INSERT INTO \(name(SyncLogTable.changelog.rawValue)) SELECT \(SyncLogTable.changelog.columnList) FROM \(name(changes))")
      }
      try step("could not insert the run into \(shown(.runs))") {
        try connection.execute(
          "INSERT INTO \(name(SyncLogTable.runs.rawValue)) (\(SyncLogTable.runs.columnList)) VALUES \(values(run, .runs))")
      }
      try step("could not drop the staging table \(schema).\(changes)") {
        try connection.execute("DROP TABLE IF EXISTS \(name(changes))")
      }
    } catch {
      // What was staged goes; a version that was never published must not be picked up later.
      for table in [changes, staged] + (published ? [] : [version]) {
        try? connection.execute("DROP TABLE IF EXISTS \(name(table))")
      }
      throw error
    }
  }

  /// Points the `sync_snapshot` view at `version` for its sync and at the newest version of every
  /// other sync, then drops this sync's older versions.
  private func publish(_ version: String, sync: String) throws {
    var current: [String: (run: Int, table: String)] = [:]
    var older: [String] = []
    for table in try tables(like: "sync_snapshot_s*") {
      guard let match = table.wholeMatch(of: /sync_snapshot_s(\d+)_r(\d+)/), let run = Int(match.output.2) else {
        continue
      }
      let owner = String(match.output.1)
      if owner == sync {
        if table != version { older.append(table) }
      } else if current[owner].map({ $0.run < run }) ?? true {
        current[owner] = (run, table)
      }
    }
    let columns = SyncLogTable.snapshot.columnList
    let selects = ([version] + current.values.map(\.table).sorted()).map { "SELECT \(columns) FROM \(name($0))" }
    try connection.execute(
      "CREATE OR REPLACE VIEW \(name(SyncLogTable.snapshot.rawValue)) AS \(selects.joined(separator: " UNION ALL "))")
    for table in older { try connection.execute("DROP TABLE IF EXISTS \(name(table))") }
  }

  /// Creates the schema and whichever of `sync_runs` and `sync_changelog` are missing, and checks
  /// the columns of the tables that exist; `sync_snapshot`, a view, is made by the first write.
  private func prepare() throws {
    try step("could not create the schema \(schema)") {
      try connection.execute("CREATE DATABASE IF NOT EXISTS \(dialect.quoteIdentifier(schema))")
    }
    let existing = try step("could not read the sync log tables of \(schema)") { try tables(like: "sync_*") }
    let views = try step("could not read the views of \(schema)") {
      try connection.textRows("SHOW VIEWS IN \(dialect.quoteIdentifier(schema))").compactMap { $0.count > 1 ? $0[1] : nil }
    }
    // Every existing table is checked before any is created, so a refusal leaves nothing behind.
    for table in SyncLogTable.allCases where existing.contains(table.rawValue) {
      if table == .snapshot, !views.contains(table.rawValue) {
        throw table.refusal(
          shown: shown(table), "is not a view (on Spark, sync_snapshot is a view over one table per sync)",
          other: "schema")
      }
      let columns: [(name: String, type: String?)] = try step("could not read the columns of \(shown(table))") {
        try connection.textRows("DESCRIBE TABLE \(name(table.rawValue))")
          .prefix { ($0.first ?? nil).map { !$0.isEmpty && !$0.hasPrefix("#") } ?? false }
          .map { (name: $0[0] ?? "", type: $0.count > 1 ? $0[1] : nil) }
      }
      if let mismatch = table.mismatch(existing: columns, expectedType: { $0.sparkType.lowercased() }) {
        throw table.refusal(shown: shown(table), mismatch, other: "schema")
      }
    }
    for table in [SyncLogTable.runs, .changelog] where !existing.contains(table.rawValue) {
      try step("could not create the table \(shown(table))") { try create(table.rawValue, as: table) }
    }
    isReady = true
  }

  private func create(_ table: String, as kind: SyncLogTable) throws {
    let columns = kind.columns.map { "\($0.name) \($0.kind.sparkType)" }.joined(separator: ", ")
    try connection.execute("CREATE TABLE \(name(table)) (\(columns)) USING parquet")
  }

  private func insert(into table: String, _ kind: SyncLogTable, _ next: () throws -> [String?]?) throws {
    try insertValues(on: connection, into: "\(name(table)) (\(kind.columnList))", perStatement: Self.rowsPerStatement) {
      try next().map { try values($0, kind) }
    }
  }

  /// One row as a Spark `VALUES` tuple: Spark refuses to store a string in a `BIGINT` or
  /// `TIMESTAMP` column, so numbers are written bare and times as `TIMESTAMP '…'`.
  private func values(_ row: [String?], _ table: SyncLogTable) throws -> String {
    let literals = try zip(row, table.columns).map { value, column -> String in
      guard let value else { return "NULL" }
      switch column.kind {
      case .integer:
        guard Int64(value) != nil else { throw SyncLogError("\(column.name) \"\(value)\" is not an integer") }
        return value
      case .time: return "TIMESTAMP " + dialect.literal(value)
      case .text, .json: return dialect.literal(value)
      }
    }
    return "(" + literals.joined(separator: ", ") + ")"
  }

  private func tables(like pattern: String) throws -> [String] {
    try connection.textRows("SHOW TABLES IN \(dialect.quoteIdentifier(schema)) LIKE \(dialect.literal(pattern))")
      .compactMap { $0.count > 1 ? $0[1] : nil }
  }

  private func name(_ table: String) -> String { "\(dialect.quoteIdentifier(schema)).\(dialect.quoteIdentifier(table))" }
  private func shown(_ table: SyncLogTable) -> String { "\(schema).\(table.rawValue)" }
}
