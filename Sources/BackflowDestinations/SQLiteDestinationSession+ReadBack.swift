import BackflowConfig
import BackflowSQLite
import Foundation

/// Reading a SQLite table back for `backflow drift`: each record looked up by its match value,
/// bound as apply binds it. Fields compare with `IS`, which applies the column's affinity to the
/// value Backflow writes, as storing it did: an INTEGER column compares `42` and `"42"` as one
/// number, a TEXT column as one text.
extension SQLiteDestinationSession {
  public func readBack(_ records: [DestinationRecord], from table: SQLiteDestinationTable, matchField: String) throws
    -> [StoredRecord?]
  {
    let fields = table.columns.settable
    return try sweeping(table, "read the records of \(table.object) in \(path)") {
      let statement = try lookup(table, matchField: matchField, fields: fields)
      return try records.map { record in
        let values = table.columns.values(of: record, for: .upsert).map(SQLiteDestinationTable.binding)
        guard let row = try statement.run(values).first else { return nil }
        return StoredRecord(
          same: fields.indices.map { row[$0 * 2] == .integer(1) }, stored: fields.indices.map { Self.text(row[$0 * 2 + 1]) },
          written: fields.indices.map { Self.text(values[$0 + 1]) })
      }
    }
  }

  /// `SELECT field IS ?2, field, … WHERE match = ?1`: the comparisons and the stored values.
  private func lookup(_ table: SQLiteDestinationTable, matchField: String, fields: [String]) throws -> SQLiteStatement {
    if let readBackStatement { return readBackStatement }
    let columns = fields.enumerated().flatMap { index, field in
      ["t.\(SQLiteDatabase.quoteIdentifier(field)) IS ?\(index + 2)", "t.\(SQLiteDatabase.quoteIdentifier(field))"]
    }
    let statement = try database.compile(
      "SELECT " + (columns.isEmpty ? "1" : columns.joined(separator: ", ")) + " FROM \(table.name) AS t "
        + "WHERE t.\(SQLiteDatabase.quoteIdentifier(matchField)) = ?1 LIMIT 1")
    readBackStatement = statement
    return statement
  }

  /// A stored value as text: numbers in digits, blobs by size, `nil` for NULL.
  static func text(_ value: SQLiteValue) -> String? {
    switch value {
    case .null: nil
    case let .integer(number): String(number)
    case let .real(number): number.rounded() == number && abs(number) < 1e15 ? String(format: "%.1f", number) : "\(number)"
    case let .text(text): text
    case let .blob(bytes): "(\(bytes.count) bytes of BLOB)"
    }
  }
}
