import BackflowSQLite

/// Models on SQLite: a stepped statement, read-only.
public final class SQLiteModelReader: ModelReader {
  public func quoteIdentifier(_ name: String) -> String { SQLiteDatabase.quoteIdentifier(name) }

  private let database: SQLiteDatabase

  public init(path: String) throws {
    do {
      database = try SQLiteDatabase(path: path, readOnly: true)
    } catch {
      throw SourceError("could not open the SQLite database: \(error)")
    }
  }

  public func columns(of model: ModelSQL) throws -> [String] {
    try prepare(model.wrapped(select: "*").sql).columnNames
  }


  public func rows(of model: ModelSQL, key: String, columns: [String]) throws -> any ModelRowStream {
    // BINARY orders by bytes, as the state store and the merge do, whatever the column's collation.
    let keyText = "CAST(\(SQLiteDatabase.quoteIdentifier(key)) AS TEXT)"
    let list = ([keyText] + columns.map(SQLiteDatabase.quoteIdentifier)).joined(separator: ", ")
    let statement = try prepare(model.wrapped(select: list, rest: "\nORDER BY \(keyText) COLLATE BINARY").sql)
    return SQLiteRowStream(statement: statement, columnCount: columns.count)
  }

  public func rows(of model: ModelSQL, key: String, equalTo value: String, columns: [String], limit: Int) throws
    -> [ModelRow]
  {
    let keyText = "CAST(\(SQLiteDatabase.quoteIdentifier(key)) AS TEXT)"
    let list = ([keyText] + columns.map(SQLiteDatabase.quoteIdentifier)).joined(separator: ", ")
    let statement = try prepare(
      model.wrapped(select: list, rest: "\nWHERE \(keyText) = ?1 LIMIT \(max(0, limit))").sql, [value])
    let stream = SQLiteRowStream(statement: statement, columnCount: columns.count)
    var rows: [ModelRow] = []
    while let row = try stream.next() { rows.append(row) }
    return rows
  }

  private func prepare(_ sql: String, _ parameters: [String?] = []) throws -> SQLiteStatement {
    do {
      return try database.prepare(sql, parameters)
    } catch {
      throw SourceError("\(error)")
    }
  }
}

private final class SQLiteRowStream: ModelRowStream {
  let statement: SQLiteStatement
  let columnCount: Int

  init(statement: SQLiteStatement, columnCount: Int) {
    self.statement = statement
    self.columnCount = columnCount
  }

  func next() throws -> ModelRow? {
    do {
      guard try statement.step() else { return nil }
    } catch {
      throw SourceError("\(error)")
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
