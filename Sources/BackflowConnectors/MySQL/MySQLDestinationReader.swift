import BackflowConfig
import BackflowDestinations
import BackflowMySQL

/// Reads a MySQL destination table back for `backflow drift`.
///
/// The records Backflow wrote go into a temporary table whose columns have the target's types,
/// so the server converts each value as storing it did (a DECIMAL(10,2) keeps `1.50` for `1.5`,
/// a TINYINT `1` for `true`); fields then compare by their stored bytes, so a change of case in
/// a text is drift even under a case-insensitive collation.
final class MySQLDestinationReader: DestinationReader {
  private let session: MySQLDestinationSession
  private let table: MySQLDestinationTable
  private var writtenTableCreated = false
  private var keepTable: MySQLKeepTable?

  init(settings: MySQLSettings, target: DestinationTarget) throws {
    session = try MySQLDestinationSession(settings: settings)
    table = try MySQLDestinationTable.resolve(target, on: session.connection)
  }

  func compare(_ records: [DestinationRecord]) throws -> [RecordDrift] {
    guard let matchField = table.matchField else {
      throw DestinationError("reading records back needs a match field (match:)")
    }
    guard !records.isEmpty else { return [] }
    let written = table.columns.written.map(MySQLConnection.quoteIdentifier)
    let fields = table.columns.settable
    let match = MySQLConnection.quoteIdentifier(matchField)
    return try reading {
      let connection = session.connection
      if !writtenTableCreated {
        try connection.execute(
          "CREATE TEMPORARY TABLE backflow_written AS SELECT 0 AS backflow_position, \(written.joined(separator: ", ")) "
            + "FROM \(table.name) WHERE FALSE")
        writtenTableCreated = true
      }
      try connection.execute("DELETE FROM backflow_written")
      let rows = try records.enumerated().map { position, record in
        "(" + ([String(position)] + (try session.literals(of: record, for: .upsert, in: table))).joined(separator: ", ") + ")"
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
      var drifts = [RecordDrift](repeating: .missing, count: records.count)
      for row in found {
        guard let position = row[0].flatMap(Int.init), row[1] == "1" else { continue }
        let differences = fields.enumerated().compactMap { index, field -> FieldDrift? in
          let base = 2 + index * 3
          guard row[base] != "1" else { return nil }
          return FieldDrift(
            field: field, destination: DestinationReaders.truncated(row[base + 1]),
            written: DestinationReaders.truncated(row[base + 2]))
        }
        // A match value that finds several records (a collation folding case) counts as one.
        if case .missing = drifts[position] { drifts[position] = differences.isEmpty ? .same : .differs(differences) }
      }
      return drifts
    }
  }

  func expect(_ keys: [JSONValue]) throws {
    try reading { try keep().keep(keys) }
  }

  func unexpected(sample: Int) throws -> (count: Int, sample: [String]) {
    try reading {
      let keep = try keep()
      let match = MySQLConnection.quoteIdentifier(keep.matchField)
      let counted = try session.connection.query("SELECT COUNT(*) FROM \(keep.absent)")
      let count = counted.first?.first?.flatMap { Int($0) } ?? 0
      let values = try session.connection.query(
        "SELECT CAST(t.\(match) AS CHAR) FROM \(keep.absent) ORDER BY t.\(match) LIMIT \(max(0, sample))")
      return (count, values.compactMap { DestinationReaders.truncated($0.first ?? nil) })
    }
  }

  private func keep() throws -> MySQLKeepTable {
    if let keepTable { return keepTable }
    guard let matchField = table.matchField else {
      throw DestinationError("reading records back needs a match field (match:)")
    }
    let keep = MySQLKeepTable(session: session, table: table, matchField: matchField, name: "backflow_drift_keep")
    try keep.create()
    keepTable = keep
    return keep
  }

  private func reading<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as MySQLError {
      throw DestinationError("cannot read \(table.object) back: \(error)")
    }
  }
}
