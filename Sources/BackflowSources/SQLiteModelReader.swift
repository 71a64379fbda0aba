import BackflowConfig
import BackflowSQLite

/// Models on SQLite: a stepped statement, read-only; with a `queryTimeout`, interrupted once it
/// has run that long.
public final class SQLiteModelReader: ModelReader {
  public func quoteIdentifier(_ name: String) -> String { SQLiteDatabase.quoteIdentifier(name) }

  private let database: SQLiteDatabase
  private let queryTimeout: Interval?

  public init(path: String, queryTimeout: Interval? = nil) throws {
    do {
      database = try SQLiteDatabase(path: path, readOnly: true)
    } catch {
      throw SourceError("could not open the SQLite database: \(error)")
    }
    self.queryTimeout = queryTimeout
    if let queryTimeout { database.limitStatements(to: .seconds(queryTimeout.seconds)) }
  }

  public func columns(of model: ModelSQL) throws -> [String] {
    try prepare(model.wrapped(select: "*").sql).columnNames
  }


  public func rows(of model: ModelSQL, key: String, columns: [String]) throws -> any ModelRowStream {
    // BINARY orders by bytes, as the state store and the merge do, whatever the column's collation.
    let keyText = "CAST(\(SQLiteDatabase.quoteIdentifier(key)) AS TEXT)"
    let list = ([keyText] + columns.map(SQLiteDatabase.quoteIdentifier)).joined(separator: ", ")
    let statement = try prepare(model.wrapped(select: list, rest: "\nORDER BY \(keyText) COLLATE BINARY").sql)
    return SQLiteRowStream(statement: statement, columnCount: columns.count, queryTimeout: queryTimeout)
  }

  public func rows(of model: ModelSQL, key: String, equalTo value: String, columns: [String], limit: Int) throws
    -> [ModelRow]
  {
    let keyText = "CAST(\(SQLiteDatabase.quoteIdentifier(key)) AS TEXT)"
    let list = ([keyText] + columns.map(SQLiteDatabase.quoteIdentifier)).joined(separator: ", ")
    let statement = try prepare(
      model.wrapped(select: list, rest: "\nWHERE \(keyText) = ?1 LIMIT \(max(0, limit))").sql, [value])
    let stream = SQLiteRowStream(statement: statement, columnCount: columns.count, queryTimeout: queryTimeout)
    var rows: [ModelRow] = []
    while let row = try stream.next() { rows.append(row) }
    return rows
  }

  private func prepare(_ sql: String, _ parameters: [String?] = []) throws -> SQLiteStatement {
    do {
      return try database.prepare(sql, parameters)
    } catch {
      throw SourceError(Self.reason(error, queryTimeout: queryTimeout))
    }
  }

  /// SQLite's message, or the timeout's when the progress handler interrupted the statement.
  static func reason(_ error: any Error, queryTimeout: Interval?) -> String {
    guard (error as? SQLiteError)?.isInterrupt == true, let queryTimeout else { return "\(error)" }
    return SourceError.queryTimedOut(after: queryTimeout)
  }
}

private final class SQLiteRowStream: ModelRowStream {
  let statement: SQLiteStatement
  let columnCount: Int
  let queryTimeout: Interval?

  init(statement: SQLiteStatement, columnCount: Int, queryTimeout: Interval?) {
    self.statement = statement
    self.columnCount = columnCount
    self.queryTimeout = queryTimeout
  }

  func next() throws -> ModelRow? {
    do {
      guard try statement.step() else { return nil }
    } catch {
      throw SourceError(SQLiteModelReader.reason(error, queryTimeout: queryTimeout))
    }
    var values: [FieldValue] = []
    values.reserveCapacity(columnCount)
    // Column 0 is the key.
    for column in 1..<(columnCount + 1) {
      switch statement.value(at: column) {
      case .null: values.append(.null)
      case let .integer(number): values.append(.integer(number))
      // SQLite's own text for a REAL, which is what it prints and what fingerprints use.
      case .real: values.append(.number(statement.text(at: column) ?? ""))
      case let .text(text): values.append(.string(text))
      case let .blob(bytes): values.append(.string(String(decoding: bytes, as: UTF8.self)))
      }
    }
    return ModelRow(key: statement.text(at: 0), values: values)
  }
}
