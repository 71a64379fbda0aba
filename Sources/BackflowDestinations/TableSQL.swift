import BackflowConfig
import BackflowPostgres
import BackflowSQLite

/// What table destinations' SQL and messages differ in between databases.
public struct TableDialect: Sendable {
  /// `name` as a quoted identifier, whatever characters it holds.
  public var quoted: @Sendable (String) -> String
  /// The column type a suggested `CREATE TABLE` gives every column (a key must fit an index).
  public var suggestedType: String
  /// The statement that gives a table (as the user wrote it) a unique index on one column.
  public var uniqueIndex: @Sendable (_ object: String, _ column: String) -> String

  public init(
    quoted: @escaping @Sendable (String) -> String, suggestedType: String,
    uniqueIndex: @escaping @Sendable (_ object: String, _ column: String) -> String
  ) {
    self.quoted = quoted
    self.suggestedType = suggestedType
    self.uniqueIndex = uniqueIndex
  }

  public static let postgres = TableDialect(
    quoted: PostgresConnection.quoteIdentifier, suggestedType: "text",
    uniqueIndex: { "CREATE UNIQUE INDEX ON \($0) (\($1))" })

  public static let sqlite = TableDialect(
    quoted: SQLiteDatabase.quoteIdentifier, suggestedType: "text",
    uniqueIndex: { "CREATE UNIQUE INDEX ON \($0) (\($1))" })

  /// `name` as a person would write it in SQL: bare when it is a plain lower-case identifier,
  /// quoted otherwise.
  public func readable(_ name: String) -> String {
    let isPlain =
      name.first.map { $0 == "_" || ("a"..."z").contains($0) } == true
      && name.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    return isPlain ? name : quoted(name)
  }
}

/// SQL text and messages the table destinations share: they refuse a sync for the same reasons.
public enum TableSQL {
  /// The parts of `object` (`table` or `schema.table`), or an error that says how to write it.
  public static func tableName(_ object: String) throws -> [String] {
    guard let parts = TableName.parts(object) else {
      throw DestinationError("object \"\(object)\" is not a table name; write table or schema.table", kind: .configuration)
    }
    return parts
  }

  /// The columns a table for `target` needs, in the order a suggested `CREATE TABLE` lists them:
  /// the match field first, then the mapped fields.
  public static func columns(matchField: String?, fields: [String]) -> [String] {
    var columns: [String] = []
    for column in [matchField].compactMap({ $0 }) + fields where !columns.contains(column) {
      columns.append(column)
    }
    return columns
  }

  /// A `CREATE TABLE` to start from: the match field as primary key, every column `text`.
  static func createTable(_ object: String, target: DestinationTarget, dialect: TableDialect) -> String {
    let definitions = columns(matchField: target.matchField, fields: target.fields).map {
      dialect.readable($0) + " \(dialect.suggestedType)" + ($0 == target.matchField ? " PRIMARY KEY" : "")
    }
    return "CREATE TABLE \(object) (" + definitions.joined(separator: ", ") + ")"
  }

  /// The error for a table that does not exist, with a `CREATE TABLE` to start from.
  public static func missingTable(_ object: String, target: DestinationTarget, dialect: TableDialect)
    -> DestinationError
  {
    DestinationError(
      "table \(object) does not exist; Backflow does not create tables. Create it, choosing "
        + "each column's type, for example: " + createTable(object, target: target, dialect: dialect),
      kind: .configuration)
  }

  /// The error for mapped fields (or the match field) that are not columns of the table.
  public static func missingColumns(
    _ missing: [String], in object: String, columns: [String], caseInsensitive: Bool = false,
    dialect: TableDialect
  ) -> DestinationError {
    let readable = dialect.readable
    let names = missing.map(readable).joined(separator: ", ")
    var message =
      missing.count == 1
      ? "table \(object) has no column \(names)" : "table \(object) has no columns \(names)"
    if !caseInsensitive {
      // PostgreSQL column names are case-sensitive once quoted; a near miss is worth naming.
      let nearMisses = missing.compactMap { name in
        columns.first { $0.lowercased() == name.lowercased() }.map { "\(readable($0)) for \(name)" }
      }
      if !nearMisses.isEmpty { message += " (did you mean \(nearMisses.joined(separator: ", "))?)" }
    }
    message += "; its columns are: " + columns.map(readable).joined(separator: ", ")
    return DestinationError(message, kind: .configuration)
  }

  /// The error for a match field without a unique index of its own.
  public static func missingUniqueIndex(
    _ matchField: String, in object: String, notes: [String], dialect: TableDialect
  ) -> DestinationError {
    let readable = dialect.readable
    var message =
      "the match field \(readable(matchField)) of table \(object) needs a unique index on exactly "
      + "that column (a PRIMARY KEY or UNIQUE constraint, or a unique index that is not partial)"
    if !notes.isEmpty { message += "; " + notes.joined(separator: "; ") }
    message += ". Create one: " + dialect.uniqueIndex(object, readable(matchField))
    return DestinationError(message, kind: .configuration)
  }

  /// The error for a mapped column the database computes itself.
  public static func generatedColumns(_ columns: [String], in object: String, dialect: TableDialect)
    -> DestinationError
  {
    let readable = dialect.readable
    return DestinationError(
      "table \(object) computes \(columns.map(readable).joined(separator: ", ")) itself "
        + "(a generated column), so Backflow cannot write \(columns.count == 1 ? "it" : "them"); "
        + "remove \(columns.count == 1 ? "its mapping" : "their mappings")", kind: .configuration)
  }
}

extension TableColumns {
  /// Refuses an operation that finds records by their match value when the sync has no `match`.
  public func requireMatchField(for operation: DestinationOperation) throws {
    if Self.matches(operation), matchField == nil {
      throw DestinationError("\(operation.rawValue) needs a match field (match:)")
    }
  }
}
