import BackflowADBC
import BackflowSources

/// The sync log tables in an ADBC source: a schema on PostgreSQL, `{schema}_sync_*` tables in a
/// SQLite file, named and typed as the native stores name and type them. The driver's SQL takes
/// no parameters everywhere, so values are written as the dialect's literals; the connection runs
/// with autocommit off, so the write is one transaction.
public final class ADBCSyncLogStore: SyncLogDatabase {
  private let connection: ADBCConnection
  private let dialect: ADBCDialect
  private let schema: String
  var isReady = false
  let begin = ""

  /// Rows per INSERT, as on SQLite: one statement compiled for many rows.
  static let rowsPerStatement = 250

  public init(database: ADBCDatabase, dialect: ADBCDialect, schema: String) throws {
    guard dialect == .postgres || dialect == .sqlite else {
      throw SyncLogError(
        "sync logs on an ADBC source are written for the postgres, sqlite and spark dialects only, not \(dialect.rawValue) "
          + "yet; point sync_logs.source at another source")
    }
    self.dialect = dialect
    self.schema = schema
    connection = try step("could not connect") { try database.connect() }
    try step("could not turn autocommit off") { try connection.setOption("adbc.connection.autocommit", "false") }
  }

  func name(_ table: SyncLogTable) -> String {
    dialect == .sqlite
      ? dialect.quoteIdentifier(shown(table)) : "\(dialect.quoteIdentifier(schema)).\(table.rawValue)"
  }

  func shown(_ table: SyncLogTable) -> String {
    dialect == .sqlite ? "\(schema)_\(table.rawValue)" : "\(schema).\(table.rawValue)"
  }

  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws {
    try writeRun(run, syncID: syncID, runID: runID, changelog: changelog, unchanged: unchanged)
  }

  /// With autocommit off, the driver opens a transaction with the first statement.
  func beginTransaction() throws {}
  func commit() throws { try connection.commit() }
  func rollback() throws { try connection.rollback() }

  func execute(_ sql: String, _ parameters: [String?]) throws {
    try connection.execute(bound(sql, parameters))
  }

  func insert(into table: SyncLogTable, _ next: () throws -> [String?]?) throws {
    try step("could not write rows into \(shown(table))") {
      try insertValues(on: connection, into: "\(name(table)) (\(table.columnList))", perStatement: Self.rowsPerStatement) {
        try next().map { "(" + $0.map(literal).joined(separator: ", ") + ")" }
      }
    }
  }

  /// Creates the schema (PostgreSQL) and whichever tables are missing, and checks the columns of
  /// those that exist, inside the write's transaction.
  func prepare() throws {
    let existing = try step("could not read the sync log tables of \(schema)") { try columns() }
    if dialect == .postgres, existing.count < SyncLogTable.allCases.count {
      try step("could not create the schema \(schema)") {
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(dialect.quoteIdentifier(schema))")
      }
    }
    for table in SyncLogTable.allCases {
      guard let columns = existing[table] else {
        try step("could not create the table \(shown(table))") {
          let sql = table.createSQL(name: name(table), typeOf: dialect == .sqlite ? \.sqliteType : \.postgresType) {
            dialect.quoteIdentifier(dialect == .sqlite ? "\(schema)_\($0)" : $0)
          }
          // One statement at a time: drivers run a single statement per call.
          for statement in sql.split(separator: ";\n") { try connection.execute(String(statement)) }
        }
        continue
      }
      let expected: (SyncLogTable.Kind) -> String? = dialect == .sqlite ? { _ in nil } : { $0.postgresReportedType }
      if let mismatch = table.mismatch(existing: columns, expectedType: expected) {
        throw table.refusal(shown: shown(table), mismatch, other: dialect == .sqlite ? "prefix" : "schema")
      }
    }
  }

  /// The sync log tables that exist with their columns, read with the native stores' queries.
  private func columns() throws -> [SyncLogTable: [(name: String, type: String?)]] {
    switch dialect {
    case .sqlite:
      var rows: [[String?]] = []
      for table in SyncLogTable.allCases {
        rows += try connection.textRows(bound(SQLiteSyncLogStore.columnsQuery, [shown(table)])).map { [table.rawValue, $0[0], nil] }
      }
      return SyncLogTable.existing(rows)
    default:
      return SyncLogTable.existing(try connection.textRows(bound(PostgresSyncLogStore.columnsQuery, [schema])))
    }
  }

  /// `sql` with `$1`, `$2`… replaced by the parameters as literals; the statements are Backflow's
  /// own, so a `$` followed by digits is always a placeholder.
  private func bound(_ sql: String, _ parameters: [String?]) -> String {
    guard !parameters.isEmpty else { return sql }
    return sql.replacing(/\$(\d+)/) { match in
      guard let index = Int(match.output.1), parameters.indices.contains(index - 1) else { return String(match.output.0) }
      return literal(parameters[index - 1])
    }
  }

  private func literal(_ value: String?) -> String {
    value.map(dialect.literal) ?? "NULL"
  }
}

/// Inserts the rows `next` gives, each a `VALUES` tuple, into `target` (`table (columns)`) in
/// statements of `perStatement` rows: one statement compiled for many rows, and no more than that
/// many held in memory.
public func insertValues(on connection: ADBCConnection, into target: String, perStatement: Int, _ next: () throws -> String?) throws {
  let start = "INSERT INTO \(target) VALUES "
  var rows: [String] = []
  while let row = try next() {
    rows.append(row)
    if rows.count == perStatement {
      try connection.execute(start + rows.joined(separator: ", "))
      rows.removeAll(keepingCapacity: true)
    }
  }
  if !rows.isEmpty { try connection.execute(start + rows.joined(separator: ", ")) }
}
