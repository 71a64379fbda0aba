import BackflowConfig
import BackflowSQLite
import Foundation

/// The table a SQLite destination writes, as `prepare` found it, and the statement each
/// operation runs once per record.
public struct SQLiteDestinationTable: TableDestinationTable {
  /// The table as the user wrote it (`object:`), for messages.
  public let object: String
  /// The schema-qualified name, quoted (`"main"."contacts"`).
  let name: String
  /// The columns written, named as the table spells them (SQLite ignores case in names).
  public let columns: TableColumns

  var matchField: String? { columns.matchField }

  /// The statement `operation` runs for one record, with the record's values bound to `?1`…
  /// in `columns.columns(for:)` order. An `update` that changes no row found no record.
  func sql(_ operation: DestinationOperation) -> String {
    let written = columns.written.map(SQLiteDatabase.quoteIdentifier)
    let settable = columns.settable.map(SQLiteDatabase.quoteIdentifier)
    let match = matchField.map(SQLiteDatabase.quoteIdentifier) ?? ""
    let placeholders = written.indices.map { "?\($0 + 1)" }
    switch operation {
    case .upsert, .add:
      return "INSERT INTO \(name) (\(written.joined(separator: ", "))) VALUES ("
        + placeholders.joined(separator: ", ") + ") " + columns.onConflict(quote: SQLiteDatabase.quoteIdentifier)
    case .update:
      // The match column is ?1 and the settable fields follow it, as `written` lists them.
      guard !settable.isEmpty else { return "SELECT 1 FROM \(name) WHERE \(match) = ?1 LIMIT 1" }
      let assignments = settable.enumerated().map { "\($1) = ?\($0 + 2)" }
      return "UPDATE \(name) SET \(assignments.joined(separator: ", ")) WHERE \(match) = ?1"
    case .insert, .track:
      guard !written.isEmpty else { return "INSERT INTO \(name) DEFAULT VALUES" }
      return "INSERT INTO \(name) (\(written.joined(separator: ", "))) VALUES ("
        + placeholders.joined(separator: ", ") + ")"
    case .delete, .remove:
      return "DELETE FROM \(name) WHERE \(match) = ?1"
    case .clearFields:
      let assignments = settable.map { "\($0) = NULL" }
      return "UPDATE \(name) SET \(assignments.joined(separator: ", ")) WHERE \(match) = ?1"
    case .clear:
      return "DELETE FROM \(name)"
    }
  }

  /// A value bound in its own storage class: integers (and numbers written as integers) as
  /// INTEGER, other numbers as REAL, booleans as 1 or 0, strings as TEXT, arrays and objects as
  /// compact JSON text, null as NULL.
  ///
  /// A number with more significant digits than a REAL keeps (a `numeric` from PostgreSQL) is
  /// bound as its text: a column of numeric affinity still converts it, and a TEXT column keeps
  /// every digit.
  static func binding(_ value: JSONValue) -> SQLiteValue {
    switch value {
    case .null: return .null
    case .bool(let flag): return .integer(flag ? 1 : 0)
    case .int(let number): return .integer(Int64(number))
    case .double(let number):
      if let integer = Int64(exactly: number) { return .integer(integer) }
      return .real(number)
    case .number(let text):
      if let integer = Int64(text) { return .integer(integer) }
      if let real = Double(text), real.isFinite, significantDigits(text) <= 15 {
        return .real(real)
      }
      return .text(text)
    case .string(let text): return .text(text)
    case .array, .object: return .text(value.rendered(compact: true))
    }
  }

  /// The significant digits of a decimal literal such as `-0.00120e5` (3).
  private static func significantDigits(_ text: String) -> Int {
    let mantissa = text.prefix { $0 != "e" && $0 != "E" }
    let digits = mantissa.filter(\.isNumber).drop { $0 == "0" }
    // Trailing zeros after a decimal point add no precision.
    return mantissa.contains(".") ? digits.reversed().drop { $0 == "0" }.count : digits.count
  }
}

extension SQLiteDestinationTable {
  /// Finds the target's table and checks that it can take the sync: it exists, has every field
  /// as a column, computes none of the columns written, and, when records are matched, has a
  /// unique index on exactly the match column (or it is the primary key), as UPSERT needs.
  static func resolve(_ target: DestinationTarget, in database: SQLiteDatabase) throws
    -> SQLiteDestinationTable
  {
    let object = target.object
    let parts = try TableSQL.tableName(object)
    let schema = SQLiteDatabase.quoteIdentifier(parts.count == 2 ? parts[0] : "main")
    let tables: [[SQLiteValue]]
    do {
      tables = try database.query(
        "SELECT type, name FROM \(schema).sqlite_master WHERE type IN ('table', 'view') "
          + "AND name = ?1 COLLATE NOCASE", values: [.text(parts[parts.count - 1])])
    } catch let error as SQLiteError where error.message.hasPrefix("unknown database") {
      throw TableSQL.missingTable(object, target: target, dialect: .sqlite)
    }
    guard let found = tables.first, case .text(let kind) = found[0],
      case .text(let table) = found[1]
    else {
      throw TableSQL.missingTable(object, target: target, dialect: .sqlite)
    }
    if kind == "view", target.mode.matchesRecords, let matchField = target.matchField {
      throw DestinationError(
        "\(object) is a view; matching records by \(matchField) needs a table with a unique "
          + "index on it")
    }
    let quotedTable = SQLiteDatabase.quoteIdentifier(table)

    // cid, name, type, notnull, dflt_value, pk, hidden (2 and 3: generated columns).
    let columnRows = try database.query("PRAGMA \(schema).table_xinfo(\(quotedTable))", values: [])
    let columns: [(name: String, primaryKey: Int64, generated: Bool)] = columnRows.compactMap {
      row in
      guard case .text(let name) = row[1], case .integer(let primaryKey) = row[5],
        case .integer(let hidden) = row[6]
      else { return nil }
      return (name, primaryKey, hidden == 2 || hidden == 3)
    }
    func column(_ field: String) -> String? {
      columns.first { $0.name.lowercased() == field.lowercased() }?.name
    }
    let wanted = TableSQL.columns(matchField: target.matchField, fields: target.fields)
    let missing = wanted.filter { column($0) == nil }
    guard missing.isEmpty else {
      throw TableSQL.missingColumns(
        missing, in: object, columns: columns.map(\.name), caseInsensitive: true, dialect: .sqlite)
    }
    let matchColumn = target.matchField.flatMap(column)
    var written = target.fields.compactMap(column)
    if target.mode != .update, let matchColumn { written.append(matchColumn) }
    let generated = columns.filter { $0.generated && written.contains($0.name) }.map(\.name)
    guard generated.isEmpty else { throw TableSQL.generatedColumns(generated, in: object, dialect: .sqlite) }

    if target.mode.matchesRecords, let matchColumn, kind == "table" {
      let primaryKey = columns.filter { $0.primaryKey > 0 }.map(\.name)
      if primaryKey != [matchColumn] {
        try checkUniqueIndex(
          on: matchColumn, schema: schema, table: quotedTable, object: object, database: database)
      }
    }
    return SQLiteDestinationTable(
      object: object, name: schema + "." + quotedTable,
      columns: TableColumns(matchField: matchColumn, fields: target.fields.compactMap(column)))
  }

  /// Throws unless a unique index that is not partial covers exactly `column`.
  private static func checkUniqueIndex(
    on column: String, schema: String, table: String, object: String,
    database: SQLiteDatabase
  ) throws {
    var notes: [String] = []
    // seq, name, unique, origin, partial.
    for index in try database.query("PRAGMA \(schema).index_list(\(table))", values: []) {
      guard case .text(let name) = index[1], index[2] == .integer(1) else { continue }
      // seqno, cid, name (NULL for an expression).
      let keys = try database.query("PRAGMA \(schema).index_info(\(SQLiteDatabase.quoteIdentifier(name)))", values: [])
      let names = keys.map { row -> String? in
        if case .text(let key) = row[2] { key } else { nil }
      }
      guard names.contains(where: { $0?.lowercased() == column.lowercased() }) else { continue }
      if names.count > 1 {
        notes.append("the unique index \(TableDialect.sqlite.readable(name)) also covers other columns")
      } else if index[4] == .integer(1) {
        notes.append(
          "the unique index \(TableDialect.sqlite.readable(name)) is partial (it has a WHERE clause)")
      } else {
        return
      }
    }
    throw TableSQL.missingUniqueIndex(column, in: object, notes: notes, dialect: .sqlite)
  }
}
