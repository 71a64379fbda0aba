import BackflowConfig
import BackflowDestinations
import BackflowMySQL

/// Reading a MySQL table back for `backflow drift`: the records Backflow wrote go into a temporary
/// table whose columns have the target's types, so the server converts each value as storing it
/// did (a DECIMAL(10,2) keeps `1.50` for `1.5`, a TINYINT `1` for `true`); fields then compare by
/// their stored bytes, so a change of case in a text is drift even under a case-insensitive
/// collation.
extension MySQLDestinationSession {
  func readBack(_ records: [DestinationRecord], from table: MySQLDestinationTable, matchField: String) throws
    -> [StoredRecord?]
  {
    guard !records.isEmpty else { return [] }
    let written = table.columns.written.map(MySQLConnection.quoteIdentifier)
    let fields = table.columns.settable
    let match = MySQLConnection.quoteIdentifier(matchField)
    return try sweeping(table, "read \(table.object) back") {
      if !hasWrittenTable {
        try connection.execute(
          "CREATE TEMPORARY TABLE backflow_written AS SELECT 0 AS backflow_position, \(written.joined(separator: ", ")) "
            + "FROM \(table.name) WHERE FALSE")
        hasWrittenTable = true
      }
      try connection.execute("DELETE FROM backflow_written")
      let rows = try records.enumerated().map { position, record in
        "(" + ([String(position)] + (try literals(of: record, for: .upsert, in: table))).joined(separator: ", ") + ")"
      }
      try connection.execute(
        "INSERT INTO backflow_written (backflow_position, \(written.joined(separator: ", "))) VALUES "
          + rows.joined(separator: ", "))
      let columns = fields.map(MySQLConnection.quoteIdentifier).flatMap { field in
        ["CAST(t.\(field) AS BINARY) <=> CAST(w.\(field) AS BINARY)", "t.\(field)", "w.\(field)"]
      }
      let found = try connection.query(
        "SELECT w.backflow_position, t.\(match) IS NOT NULL" + columns.map { ", " + $0 }.joined()
          + " FROM backflow_written AS w LEFT JOIN \(table.name) AS t ON t.\(match) = w.\(match) ORDER BY w.backflow_position")
      var stored = [StoredRecord?](repeating: nil, count: records.count)
      for row in found {
        // A match value that finds several records (a collation folding case) counts as one.
        guard let position = row[0].flatMap(Int.init), row[1] == "1", stored[position] == nil else { continue }
        stored[position] = StoredRecord(
          same: fields.indices.map { row[2 + $0 * 3] == "1" }, stored: fields.indices.map { row[3 + $0 * 3] },
          written: fields.indices.map { row[4 + $0 * 3] })
      }
      return stored
    }
  }
}
