/// One of the three sync log tables: its columns in the documented order, then Backflow's extras.
enum SyncLogTable: String, CaseIterable, Sendable {
  case runs = "sync_runs"
  case changelog = "sync_changelog"
  case snapshot = "sync_snapshot"

  /// What a column holds, which decides how each database spells its type.
  enum Kind: Sendable {
    /// IDs and counts.
    case integer
    case text
    /// An ISO-8601 time in UTC.
    case time
    /// Compact JSON of a model row.
    case json

    /// The type in `CREATE TABLE` on PostgreSQL.
    var postgresType: String {
      switch self {
      case .integer: "bigint"
      case .text: "text"
      case .time: "timestamptz"
      case .json: "jsonb"
      }
    }

    /// The type as PostgreSQL reports it (`format_type`, `information_schema.columns.data_type`).
    var postgresReportedType: String {
      switch self {
      case .integer: "bigint"
      case .text: "text"
      case .time: "timestamp with time zone"
      case .json: "jsonb"
      }
    }

    /// The type on Spark, as `DESCRIBE TABLE` shows it in lower case. Spark has no JSON type:
    /// `fields` is JSON text that `get_json_object` and `from_json` read.
    var sparkType: String {
      switch self {
      case .integer: "BIGINT"
      case .text, .json: "STRING"
      case .time: "TIMESTAMP"
      }
    }

    /// The declared type on SQLite, which has no time or JSON type: times are ISO-8601 text and
    /// JSON is text that SQLite's json functions read.
    var sqliteType: String {
      switch self {
      case .integer: "INTEGER"
      case .text, .time, .json: "TEXT"
      }
    }
  }

  struct Column: Sendable {
    let name: String
    let kind: Kind
    let notNull: Bool
  }

  /// Every column Backflow writes, the documented ones first.
  var columns: [Column] {
    switch self {
    case .runs:
      let counts = ["planned", "attempted", "succeeded", "failed"].flatMap { stage in
        ["add", "change", "remove"].map { Column(name: "num_\(stage)_\($0)", kind: .integer, notNull: true) }
      }
      let aborted = ["add", "change", "remove"].map {
        Column(name: "num_aborted_\($0)", kind: .integer, notNull: true)
      }
      return [
        Column(name: "sync_id", kind: .integer, notNull: true),
        Column(name: "sync_run_id", kind: .integer, notNull: true),
        Column(name: "primary_key", kind: .text, notNull: false),
        Column(name: "destination", kind: .text, notNull: false),
        Column(name: "model_name", kind: .text, notNull: false),
        Column(name: "status", kind: .text, notNull: true),
        Column(name: "error", kind: .text, notNull: false),
        Column(name: "started_at", kind: .time, notNull: true),
        Column(name: "finished_at", kind: .time, notNull: false),
      ] + counts + aborted + [
        Column(name: "rows_queried", kind: .integer, notNull: false),
        Column(name: "git_commit", kind: .text, notNull: false),
        Column(name: "sync_name", kind: .text, notNull: false),
      ]
    case .changelog:
      return [
        Column(name: "sync_id", kind: .integer, notNull: true),
        Column(name: "sync_run_id", kind: .integer, notNull: true),
        Column(name: "op_type", kind: .text, notNull: true),
        Column(name: "row_id", kind: .text, notNull: false),
        Column(name: "status", kind: .text, notNull: true),
        Column(name: "failed_reason", kind: .text, notNull: false),
        Column(name: "fields", kind: .json, notNull: true),
      ]
    case .snapshot:
      return [
        Column(name: "sync_id", kind: .integer, notNull: true),
        Column(name: "op_type", kind: .text, notNull: true),
        Column(name: "row_id", kind: .text, notNull: false),
        Column(name: "status", kind: .text, notNull: true),
        Column(name: "failed_reason", kind: .text, notNull: false),
        Column(name: "fields", kind: .json, notNull: true),
      ]
    }
  }

  /// The column names, comma-separated, for `INSERT` and `COPY` lists.
  var columnList: String { columns.map(\.name).joined(separator: ", ") }

  /// Indexes created with the table, for the queries docs/sync-logs.md shows: a row's history
  /// (changelog by sync and row), one run's rows (changelog by run, which also fills the
  /// snapshot), a sync's snapshot, and a sync's runs in order.
  var indexes: [(suffix: String, columns: String)] {
    switch self {
    case .runs: [("sync", "sync_id, sync_run_id")]
    case .changelog: [("row", "sync_id, row_id, sync_run_id"), ("run", "sync_run_id, sync_id")]
    case .snapshot: [("sync", "sync_id, row_id")]
    }
  }

  /// `CREATE TABLE` and its indexes; `name` is the table as the statement names it and
  /// `indexName` turns a suffix into an index name.
  func createSQL(
    name: String, typeOf type: (Kind) -> String, indexName: (String) -> String
  ) -> String {
    let definitions = columns.map { column in
      "  \(column.name) \(type(column.kind))\(column.notNull ? " NOT NULL" : "")"
    }
    let create = "CREATE TABLE \(name) (\n\(definitions.joined(separator: ",\n"))\n);"
    let indexes = indexes.map { index in
      "CREATE INDEX IF NOT EXISTS \(indexName("\(rawValue)_\(index.suffix)")) ON \(name) (\(index.columns));"
    }
    return ([create] + indexes).joined(separator: "\n")
  }

  /// Why an existing table cannot take the rows, or `nil` when every column Backflow writes is
  /// there (with the right type, when `types` are known); extra columns are the user's own.
  func mismatch(existing: [(name: String, type: String?)], expectedType: (Kind) -> String?) -> String? {
    let found = Dictionary(existing.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
    let missing = columns.filter { found[$0.name] == nil }.map(\.name)
    if !missing.isEmpty {
      let list = missing.map { "\"\($0)\"" }.joined(separator: ", ")
      return "has no column\(missing.count == 1 ? "" : "s") \(list)"
    }
    for column in columns {
      guard let expected = expectedType(column.kind), let actual = found[column.name] ?? nil,
        actual != expected
      else { continue }
      return "has column \"\(column.name)\" of type \(actual), but sync logs write \(expected) there"
    }
    return nil
  }
}

extension SyncLogTable {
  /// The tables found among catalog rows of (table, column, type), with their columns in order.
  static func existing(_ rows: [[String?]]) -> [SyncLogTable: [(name: String, type: String?)]] {
    var tables: [SyncLogTable: [(name: String, type: String?)]] = [:]
    for row in rows {
      guard let table = row[0].flatMap(SyncLogTable.init(rawValue:)), let column = row[1] else { continue }
      tables[table, default: []].append((column, row[2]))
    }
    return tables
  }

  /// The message for an existing table that cannot take the rows; `other` says where else to
  /// point `sync_logs.schema`.
  func refusal(shown: String, _ mismatch: String, other: String) -> SyncLogError {
    SyncLogError(
      "the existing table \(shown) \(mismatch); drop or rename it so Backflow can create it, "
        + "or set sync_logs.schema to another \(other)")
  }
}
