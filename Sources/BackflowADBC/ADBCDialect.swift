/// The SQL of the engine behind an ADBC driver: how it quotes, turns a key into text and sorts
/// that text by its UTF-8 bytes (NULL first), the order the planner merges in.
public enum ADBCDialect: String, CaseIterable, Sendable, Codable {
  case postgres
  case sqlite
  case snowflake
  case bigquery
  case spark
  case duckdb
  case flightsql

  /// The dialect a driver's name implies (`adbc_driver_snowflake` → snowflake), if any.
  public init?(driverName: String) {
    let name = driverName.lowercased()
    let implied: [(String, ADBCDialect)] = [
      ("postgresql", .postgres), ("postgres", .postgres), ("sqlite", .sqlite), ("snowflake", .snowflake),
      ("bigquery", .bigquery), ("spark", .spark), ("duckdb", .duckdb), ("flightsql", .flightsql),
    ]
    guard let dialect = implied.first(where: { name.contains($0.0) })?.1 else { return nil }
    self = dialect
  }

  /// Spark and BigQuery quote with backticks; the others as standard SQL does.
  public func quoteIdentifier(_ name: String) -> String {
    switch self {
    case .spark, .bigquery: "`" + name.replacing("`", with: "``") + "`"
    default: "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
  }

  /// A string literal. Spark and BigQuery read backslash escapes inside literals. Spark also
  /// substitutes `${name}` in the SQL text before parsing it (`spark.sql.variable.substitute`), so
  /// its literals spell `$` as the escape `\u0024`.
  public func literal(_ text: String) -> String {
    switch self {
    case .spark, .bigquery:
      let escaped = text.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
      return "'" + (self == .spark ? escaped.replacing("$", with: "\\u0024") : escaped) + "'"
    default: return "'" + text.replacing("'", with: "''") + "'"
    }
  }

  /// `expression` as text, as plans and snapshots spell keys.
  public func text(_ expression: String) -> String {
    switch self {
    case .postgres: "(\(expression))::text"
    case .sqlite: "CAST(\(expression) AS TEXT)"
    case .spark, .bigquery: "CAST(\(expression) AS STRING)"
    case .snowflake, .duckdb, .flightsql: "CAST(\(expression) AS VARCHAR)"
    }
  }

  /// `ORDER BY` of a text expression by its UTF-8 bytes, NULL first, whatever the collation.
  public func byteOrder(_ text: String) -> String {
    switch self {
    case .postgres: "\(text) COLLATE \"C\" NULLS FIRST"
    // SQLite sorts NULL first; BINARY compares bytes.
    case .sqlite: "\(text) COLLATE BINARY"
    // 'utf8' is Snowflake's binary collation: it ignores a column's or account's collation.
    case .snowflake: "COLLATE(\(text), 'utf8') NULLS FIRST"
    // Spark (UTF8_BINARY), BigQuery, DuckDB compare strings by bytes unless told otherwise.
    case .spark, .bigquery, .duckdb, .flightsql: "\(text) ASC NULLS FIRST"
    }
  }

  /// A statement that makes the session read-only, for drivers that refuse the ADBC
  /// `adbc.connection.readonly` option.
  public var readOnlySession: String? {
    switch self {
    case .postgres: "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
    case .sqlite: "PRAGMA query_only = ON"
    default: nil
    }
  }

  /// Whether `error` says a read-only session refused to write.
  public func isWriteRefusal(_ error: ADBCError) -> Bool {
    switch self {
    case .postgres: error.sqlState == "25006" || error.message.contains("in a read-only transaction")
    case .sqlite: error.message.contains("readonly database")
    default: false
    }
  }
}
