import BackflowPostgres
import BackflowSQLite

/// The SQL a state store needs, which both the SQLite and the PostgreSQL drivers provide.
///
/// Statements use `$1`, `$2`… for parameters, which both databases read.
protocol StateDatabase: AnyObject {
  var dialect: StateDialect { get }
  func execute(_ sql: String) throws
  func execute(_ sql: String, _ parameters: [String?]) throws
  func query(_ sql: String, _ parameters: [String?]) throws -> [[String?]]
  /// Streams the rows of one query that takes no parameters, without holding them in memory.
  func stream(_ sql: String) throws -> any RowStream
}

/// Rows read one at a time, each column as text or `nil` for NULL.
public protocol RowStream: AnyObject {
  func next() throws -> [String?]?
}

/// Where the two databases spell the same schema differently.
enum StateDialect {
  case sqlite
  case postgres

  /// PostgreSQL keeps state in its own schema, out of the way of the warehouse's tables; a
  /// SQLite state file holds nothing else.
  func table(_ name: String) -> String {
    switch self {
    case .sqlite: name
    case .postgres: "backflow_state.\(name)"
    }
  }

  /// A key that never repeats, even after the newest row is deleted.
  var identityColumn: String {
    switch self {
    case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
    case .postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    }
  }

  /// Row keys order by their UTF-8 bytes in both databases, as the planner's merge expects.
  var byteOrderedText: String {
    switch self {
    case .sqlite: "TEXT"
    case .postgres: "TEXT COLLATE \"C\""
    }
  }
}

extension SQLiteDatabase: StateDatabase {
  var dialect: StateDialect { .sqlite }

  func execute(_ sql: String, _ parameters: [String?]) throws {
    _ = try query(sql, parameters)
  }

  func stream(_ sql: String) throws -> any RowStream {
    SQLiteRowStream(statement: try prepare(sql))
  }
}

private final class SQLiteRowStream: RowStream {
  let statement: SQLiteStatement
  let columns: Int

  init(statement: SQLiteStatement) {
    self.statement = statement
    columns = statement.columnNames.count
  }

  func next() throws -> [String?]? {
    guard try statement.step() else { return nil }
    return (0..<columns).map { statement.text(at: $0) }
  }
}

extension PostgresConnection: StateDatabase {
  var dialect: StateDialect { .postgres }

  func stream(_ sql: String) throws -> any RowStream {
    try copyOut("COPY (\(sql)) TO STDOUT")
  }
}

extension PostgresCopyOut: RowStream {}
