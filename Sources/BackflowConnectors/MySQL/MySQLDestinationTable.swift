import BackflowConfig
import BackflowDestinations
import BackflowMySQL

/// The table a MySQL destination writes, as `prepare` found it, and the statements each
/// operation runs, with the record's values as literals.
struct MySQLDestinationTable: TableDestinationTable {
  static let dialect = TableDialect(
    quoted: MySQLConnection.quoteIdentifier, suggestedType: "varchar(255)",
    uniqueIndex: { "ALTER TABLE \($0) ADD UNIQUE (\($1))" })

  /// The table as the user wrote it (`object:`), for messages.
  let object: String
  /// `database`.`table`, quoted.
  let name: String
  /// The columns written, named as the table spells them (MySQL ignores case in column names).
  let columns: TableColumns

  var matchField: String? { columns.matchField }

  private func quoted(_ names: [String]) -> [String] { names.map(MySQLConnection.quoteIdentifier) }

  /// The statement `operation` runs for one record whose literals are `values`, in
  /// `columns.columns(for:)` order (the match column first).
  func sql(_ operation: DestinationOperation, _ values: [String]) -> String {
    let settable = quoted(columns.settable)
    let match = matchField.map(MySQLConnection.quoteIdentifier) ?? ""
    let key = values.first ?? "NULL"
    switch operation {
    case .upsert, .add, .insert, .track:
      return bulkSQL(operation, [values]) ?? ""
    case .update:
      guard !settable.isEmpty else { return "SELECT 1 FROM \(name) WHERE \(match) = \(key) LIMIT 1" }
      let assignments = zip(settable, values.dropFirst()).map { "\($0) = \($1)" }
      return "UPDATE \(name) SET \(assignments.joined(separator: ", ")) WHERE \(match) = \(key)"
    case .delete, .remove:
      return "DELETE FROM \(name) WHERE \(match) = \(key)"
    case .clearFields:
      return "UPDATE \(name) SET \(settable.map { "\($0) = NULL" }.joined(separator: ", ")) WHERE \(match) = \(key)"
    case .clear:
      return "DELETE FROM \(name)"
    }
  }

  /// One INSERT of every row for the operations that insert (an upsert updates the settable
  /// fields on a duplicate key); `nil` for the others.
  func bulkSQL(_ operation: DestinationOperation, _ rows: [[String]]) -> String? {
    let written = quoted(columns.written)
    let tuples = rows.map { "(" + $0.joined(separator: ", ") + ")" }.joined(separator: ", ")
    let insert =
      written.isEmpty
      ? "INSERT INTO \(name) () VALUES " + rows.map { _ in "()" }.joined(separator: ", ")
      : "INSERT INTO \(name) (\(written.joined(separator: ", "))) VALUES \(tuples)"
    switch operation {
    case .insert, .track:
      return insert
    case .upsert, .add:
      let match = matchField.map(MySQLConnection.quoteIdentifier) ?? ""
      let settable = quoted(columns.settable)
      let updates = settable.isEmpty ? ["\(match) = \(match)"] : settable.map { "\($0) = VALUES(\($0))" }
      return insert + " ON DUPLICATE KEY UPDATE " + updates.joined(separator: ", ")
    case .update, .delete, .remove, .clearFields, .clear:
      return nil
    }
  }
}

extension MySQLDestinationTable {
  /// Finds the target's table and checks that it can take the sync: it exists, has every field
  /// as a column, computes none of the columns written, and, when records are matched, has a
  /// unique index on exactly the match column, as `ON DUPLICATE KEY UPDATE` needs.
  static func resolve(_ target: DestinationTarget, on connection: MySQLConnection) throws -> MySQLDestinationTable {
    let object = target.object
    do {
      let parts = try TableSQL.tableName(object)
      let schema = parts.count == 2 ? try connection.quoteLiteral(parts[0]) : "DATABASE()"
      let where_ =
        "WHERE TABLE_SCHEMA = \(schema) AND TABLE_NAME = \(try connection.quoteLiteral(parts[parts.count - 1]))"
      let tables = try connection.query("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \(where_)")
      guard let found = tables.first, let database = found[0], let table = found[1] else {
        if parts.count == 1, try connection.query("SELECT DATABASE()").first?.first ?? nil == nil {
          throw DestinationError("the destination's URL names no database; write object: database.table, or add /DATABASE to the URL")
        }
        throw TableSQL.missingTable(object, target: target, dialect: dialect)
      }
      let isView = found[2] == "VIEW"
      if isView, target.mode.matchesRecords, let matchField = target.matchField {
        throw DestinationError(
          "\(object) is a view; matching records by \(matchField) needs a table with a unique index on it")
      }
      let columnRows = try connection.query("SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS \(where_) ORDER BY ORDINAL_POSITION")
      let names = columnRows.compactMap { $0[0] }
      func column(_ field: String) -> String? { names.first { $0.lowercased() == field.lowercased() } }
      let missing = TableSQL.columns(matchField: target.matchField, fields: target.fields).filter { column($0) == nil }
      guard missing.isEmpty else {
        throw TableSQL.missingColumns(missing, in: object, columns: names, caseInsensitive: true, dialect: dialect)
      }
      let matchColumn = target.matchField.flatMap(column)
      var written = target.fields.compactMap(column)
      if target.mode != .update, let matchColumn { written.append(matchColumn) }
      let generated = columnRows.filter { ($0[1] ?? "").uppercased().contains("GENERATED") }.compactMap { $0[0] }
        .filter(written.contains)
      guard generated.isEmpty else { throw TableSQL.generatedColumns(generated, in: object, dialect: dialect) }
      if target.mode.matchesRecords, let matchColumn, !isView {
        try checkUniqueIndex(on: matchColumn, where: where_, object: object, connection: connection)
      }
      let quoted = MySQLConnection.quoteIdentifier(database) + "." + MySQLConnection.quoteIdentifier(table)
      return MySQLDestinationTable(
        object: object, name: quoted, columns: TableColumns(matchField: matchColumn, fields: target.fields.compactMap(column)))
    } catch let error as MySQLError {
      throw DestinationError("cannot check table \(object): \(error)")
    }
  }

  /// Throws unless a unique index covers exactly `column`, whole (not a prefix of it).
  private static func checkUniqueIndex(
    on column: String, where where_: String, object: String, connection: MySQLConnection
  ) throws {
    let rows = try connection.query(
      "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS \(where_) AND NON_UNIQUE = 0 "
        + "ORDER BY INDEX_NAME, SEQ_IN_INDEX")
    var notes: [String] = []
    for index in Dictionary(grouping: rows, by: { $0[0] ?? "" }).sorted(by: { $0.key < $1.key }) {
      let names = index.value.map { ($0[1] ?? "").lowercased() }
      guard names.contains(column.lowercased()) else { continue }
      let indexName = index.key == "PRIMARY" ? "PRIMARY KEY" : "unique index \(dialect.readable(index.key))"
      if names.count > 1 {
        notes.append("the \(indexName) also covers other columns")
      } else if let prefix = index.value[0][2] ?? nil {
        notes.append("the \(indexName) covers only the first \(prefix) characters")
      } else {
        return
      }
    }
    throw TableSQL.missingUniqueIndex(column, in: object, notes: notes, dialect: dialect)
  }
}
