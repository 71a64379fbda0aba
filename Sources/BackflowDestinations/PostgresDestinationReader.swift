import BackflowConfig
import BackflowPostgres

/// Reads a PostgreSQL destination table back for `backflow drift`.
///
/// A batch of records is one query: their values, cast to the columns' types as apply's COPY
/// casts them, joined to the table by the match column (through its unique index). PostgreSQL
/// compares each field itself, with the type's `=` (so `1.0` and `1.00` are one numeric, and
/// jsonb ignores key order), or by text for types without one (`json`).
public final class PostgresDestinationReader: DestinationReader {
  private let connection: PostgresConnection
  private let table: PostgresDestinationTable
  /// Each written column's type as SQL spells it, and whether the type has its own `=`.
  private let types: [String: (name: String, equality: Bool)]
  private var keepTableCreated = false

  static let keepTable = "pg_temp.backflow_drift_keep"

  /// Connects and checks the table as apply's `prepare` does.
  public init(conninfo: String, target: DestinationTarget) throws {
    connection = try PostgresDestinationSession(conninfo: conninfo).connection
    do {
      table = try PostgresDestinationTable.resolve(target, on: connection)
      var types: [String: (String, Bool)] = [:]
      let rows = try connection.query(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), EXISTS (
          SELECT FROM pg_operator o WHERE o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = a.atttypid)
        FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        """, [table.name])
      for row in rows {
        guard let name = row[0], let type = row[1] else { continue }
        types[name] = (type, row[2] == "t")
      }
      self.types = types
    } catch let error as PostgresError {
      throw DestinationError("cannot read table \(target.object): \(PostgresDestinationSession.reason(error))")
    }
  }

  public func compare(_ records: [DestinationRecord]) throws -> [RecordDrift] {
    guard let matchField = table.matchField else {
      throw DestinationError("reading records back needs a match field (match:)")
    }
    let fields = table.columns.settable
    // Under PostgreSQL's 65,535 parameters per statement, and small enough to stay quick.
    let perStatement = max(1, min(500, 30_000 / (fields.count + 1)))
    var results: [RecordDrift] = []
    results.reserveCapacity(records.count)
    for start in stride(from: 0, to: records.count, by: perStatement) {
      let chunk = records[start..<min(start + perStatement, records.count)]
      results += try compareChunk(Array(chunk), matchField: matchField, fields: fields)
    }
    return results
  }

  private func compareChunk(_ records: [DestinationRecord], matchField: String, fields: [String]) throws
    -> [RecordDrift]
  {
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
    let answer: [[String?]]
    do {
      answer = try connection.query(sql, parameters)
    } catch let error as PostgresError {
      throw DestinationError("cannot read records of \(table.object): \(PostgresDestinationSession.reason(error))")
    }
    var results = [RecordDrift](repeating: .missing, count: records.count)
    for row in answer {
      guard let ordinal = row[0].flatMap({ Int($0) }), ordinal < results.count else { continue }
      guard row[1] == "t" else { continue }
      var differences: [FieldDrift] = []
      for (index, field) in fields.enumerated() where row[2 + index * 3] != "t" {
        differences.append(
          FieldDrift(
            field: field, destination: DestinationReaders.truncated(row[3 + index * 3]),
            written: DestinationReaders.truncated(row[4 + index * 3])))
      }
      // A match value shared by two rows of the table cannot happen (it has a unique index).
      results[ordinal] = differences.isEmpty ? .same : .differs(differences)
    }
    return results
  }

  public func expect(_ keys: [JSONValue]) throws {
    let match = try keepTable()
    do {
      try PostgresDestinationTable.copyKeys(keys, into: Self.keepTable, column: match, on: connection)
    } catch let error as PostgresError {
      throw DestinationError(
        "cannot note the match values of \(table.object): \(PostgresDestinationSession.reason(error))")
    }
  }

  public func unexpected(sample: Int) throws -> (count: Int, sample: [String]) {
    let match = try keepTable()
    let absent = """
      FROM \(table.name) AS t WHERE t.\(match) IS NOT NULL
      AND NOT EXISTS (SELECT FROM \(Self.keepTable) AS k WHERE k.\(match) = t.\(match))
      """
    do {
      try connection.execute("ANALYZE \(Self.keepTable)")
      let count = try connection.query("SELECT count(*) \(absent)").first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
      let values = try connection.query(
        "SELECT left(t.\(match)::text, \(FieldDrift.maxLength + 1)) \(absent) ORDER BY t.\(match) LIMIT \(max(sample, 0))")
      return (count, values.compactMap { DestinationReaders.truncated($0.first ?? nil) })
    } catch let error as PostgresError {
      throw DestinationError("cannot read records of \(table.object): \(PostgresDestinationSession.reason(error))")
    }
  }

  /// Creates the temporary table of expected match values on first use; returns the match
  /// column, quoted.
  private func keepTable() throws -> String {
    guard let matchField = table.matchField else {
      throw DestinationError("finding records that should not be there needs a match field (match:)")
    }
    let match = PostgresConnection.quoteIdentifier(matchField)
    guard !keepTableCreated else { return match }
    do {
      try connection.execute(
        "DROP TABLE IF EXISTS \(Self.keepTable); CREATE TEMP TABLE backflow_drift_keep AS SELECT "
          + "\(match) FROM \(table.name) WITH NO DATA")
    } catch let error as PostgresError {
      throw DestinationError("cannot read records of \(table.object): \(PostgresDestinationSession.reason(error))")
    }
    keepTableCreated = true
    return match
  }
}
