import BackflowPostgres

/// The sync log tables in a schema of a PostgreSQL source, written with COPY.
public final class PostgresSyncLogStore: SyncLogDatabase {
  private let connection: PostgresConnection
  private let schema: String
  var isReady = false
  let begin = "BEGIN"

  public init(conninfo: String, schema: String) throws {
    connection = try step("could not connect") { try PostgresConnection(conninfo: conninfo) }
    self.schema = schema
  }

  /// The table as statements name it, schema-qualified.
  func name(_ table: SyncLogTable) -> String { "\(PostgresConnection.quoteIdentifier(schema)).\(table.rawValue)" }

  /// The table as messages name it.
  func shown(_ table: SyncLogTable) -> String { "\(schema).\(table.rawValue)" }

  public func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws {
    try writeRun(run, syncID: syncID, runID: runID, changelog: changelog, unchanged: unchanged)
  }

  func execute(_ sql: String, _ parameters: [String?]) throws {
    try connection.execute(sql, parameters)
  }

  /// Streams rows into `table` with COPY; a row the server refuses fails the whole COPY.
  func insert(into table: SyncLogTable, _ next: () throws -> [String?]?) throws {
    let what = "could not write rows into \(shown(table))"
    let copy = try step(what) { try connection.copyIn("COPY \(name(table)) (\(table.columnList)) FROM STDIN") }
    while let row = try next() {
      try step(what) { try copy.write(row) }
    }
    try step(what) { try copy.finish() }
  }

  /// Creates the schema and whichever tables are missing, and checks the columns of those that
  /// exist, inside the write's transaction.
  ///
  /// Nothing is created when everything exists, so a role that may only write rows (no CREATE
  /// on the database or schema) can keep logs in tables an administrator made.
  func prepare() throws {
    var existing = try step("could not read the tables in schema \(schema)") { try columns() }
    guard existing.count < SyncLogTable.allCases.count else { return try check(existing) }
    try step("could not create the sync log tables in schema \(schema)") {
      // Two applies starting at once would both try to create the tables; one waits here for
      // the other's transaction, then finds them.
      try connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", ["backflow.sync_logs.\(schema)"])
      existing = try columns()
      try check(existing)
      let schemaExists = try !connection.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", [schema])
        .isEmpty
      if !schemaExists { try connection.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresConnection.quoteIdentifier(schema))") }
      for table in SyncLogTable.allCases where existing[table] == nil {
        try connection.execute(
          table.createSQL(name: name(table), typeOf: \.postgresType, indexName: PostgresConnection.quoteIdentifier))
      }
    }
  }

  /// Refuses a table that lacks a column Backflow writes, or holds it with another type.
  private func check(_ existing: [SyncLogTable: [(name: String, type: String?)]]) throws {
    for table in SyncLogTable.allCases {
      guard let columns = existing[table],
        let mismatch = table.mismatch(existing: columns, expectedType: \.postgresReportedType)
      else { continue }
      throw table.refusal(shown: shown(table), mismatch, other: "schema")
    }
  }

  /// The columns of the sync log tables that exist, with their types as PostgreSQL spells them.
  ///
  /// Read from the catalog, not information_schema, which hides columns the role has no
  /// privilege on and would make them look missing.
  private func columns() throws -> [SyncLogTable: [(name: String, type: String?)]] {
    SyncLogTable.existing(try connection.query(Self.columnsQuery, [schema]))
  }

  /// Each sync log table's columns in schema `$1` with their types: table, column, type.
  static let columnsQuery = """
    SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = $1 AND c.relname IN ('sync_runs', 'sync_changelog', 'sync_snapshot')
    ORDER BY c.relname, a.attnum
    """
}
