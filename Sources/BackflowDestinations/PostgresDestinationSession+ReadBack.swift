import BackflowConfig
import BackflowPostgres

/// Reading a PostgreSQL table back for `backflow drift`: a batch of records is one query, their
/// values cast to the columns' types as apply's COPY casts them, joined to the table by the match
/// column (through its unique index). PostgreSQL compares each field itself, with the type's `=`
/// (so `1.0` and `1.00` are one numeric, and jsonb ignores key order), or by text for types
/// without one (`json`).
extension PostgresDestinationSession {
  public func readBack(_ records: [DestinationRecord], from table: PostgresDestinationTable, matchField: String) throws
    -> [StoredRecord?]
  {
    let fields = table.columns.settable
    let types = try columnTypes(of: table)
    // Under PostgreSQL's 65,535 parameters per statement, and small enough to stay quick.
    let perStatement = max(1, min(500, 30_000 / (fields.count + 1)))
    var results: [StoredRecord?] = []
    results.reserveCapacity(records.count)
    for start in stride(from: 0, to: records.count, by: perStatement) {
      let chunk = records[start..<min(start + perStatement, records.count)]
      results += try readBack(Array(chunk), from: table, matchField: matchField, fields: fields, types: types)
    }
    return results
  }

  private func readBack(
    _ records: [DestinationRecord], from table: PostgresDestinationTable, matchField: String, fields: [String],
    types: [String: (name: String, equality: Bool)]
  ) throws -> [StoredRecord?] {
    let columns = [matchField] + fields
    let casts = try columns.map { column -> String in
      guard let type = types[column]?.name else { throw DestinationError("table \(table.object) has no column \(column)") }
      return type
    }
    var parameters: [String?] = []
    var rows: [String] = []
    for (ordinal, record) in records.enumerated() {
      let values = table.columns.values(of: record, for: .upsert)
      var items = [String(ordinal)]
      for (index, value) in values.enumerated() {
        parameters.append(PostgresDestinationTable.copyText(value))
        items.append("$\(parameters.count)::\(casts[index])")
      }
      rows.append("(" + items.joined(separator: ", ") + ")")
    }
    let names = ["ord"] + columns.indices.map { "c\($0)" }
    var select = ["k.ord", "t.\(PostgresConnection.quoteIdentifier(matchField)) IS NOT NULL"]
    for (index, field) in fields.enumerated() {
      let stored = "t.\(PostgresConnection.quoteIdentifier(field))"
      let written = "k.c\(index + 1)"
      let same =
        types[field]?.equality == true
        ? "\(written) IS NOT DISTINCT FROM \(stored)" : "\(written)::text IS NOT DISTINCT FROM \(stored)::text"
      select += [same, "left(\(stored)::text, \(FieldDrift.maxLength + 1))", "left(\(written)::text, \(FieldDrift.maxLength + 1))"]
    }
    let sql = """
      SELECT \(select.joined(separator: ", "))
      FROM (VALUES \(rows.joined(separator: ", "))) AS k(\(names.joined(separator: ", ")))
      LEFT JOIN \(table.name) AS t ON t.\(PostgresConnection.quoteIdentifier(matchField)) = k.c0
      ORDER BY k.ord
      """
    let answer = try sweeping(table, "read records of \(table.object)") { try connection.query(sql, parameters) }
    var results = [StoredRecord?](repeating: nil, count: records.count)
    for row in answer {
      guard let ordinal = row[0].flatMap({ Int($0) }), ordinal < results.count, row[1] == "t" else { continue }
      // A match value shared by two rows of the table cannot happen (it has a unique index).
      results[ordinal] = StoredRecord(
        same: fields.indices.map { row[2 + $0 * 3] == "t" }, stored: fields.indices.map { row[3 + $0 * 3] },
        written: fields.indices.map { row[4 + $0 * 3] })
    }
    return results
  }

  /// The table's column types, read from the catalog on first use.
  private func columnTypes(of table: PostgresDestinationTable) throws -> [String: (name: String, equality: Bool)] {
    if let columnTypes { return columnTypes }
    let rows = try sweeping(table, "read records of \(table.object)") {
      try connection.query(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), EXISTS (
          SELECT FROM pg_operator o WHERE o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = a.atttypid)
        FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        """, [table.name])
    }
    var types: [String: (name: String, equality: Bool)] = [:]
    for row in rows {
      guard let name = row[0], let type = row[1] else { continue }
      types[name] = (type, row[2] == "t")
    }
    columnTypes = types
    return types
  }
}
