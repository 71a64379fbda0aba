import BackflowConfig
import BackflowPostgres

/// Mirror's first run on PostgreSQL: the match values to keep are copied into a temporary table,
/// then one DELETE removes the table's other rows (drift counts them instead). Rows whose match
/// value is NULL are left alone: no model row can name them.
extension PostgresDestinationSession {
  static let keepTable = "pg_temp.backflow_keep"

  public func startSweep(_ table: PostgresDestinationTable, matchField: String) throws {
    try sweeping(table, "note the match values of \(table.object) to keep") {
      try connection.execute(
        "DROP TABLE IF EXISTS \(Self.keepTable); CREATE TEMP TABLE backflow_keep AS SELECT "
          + "\(PostgresConnection.quoteIdentifier(matchField)) FROM \(table.name) WITH NO DATA")
    }
  }

  public func keep(_ keys: [JSONValue], table: PostgresDestinationTable, matchField: String) throws {
    try sweeping(table, "note the match values of \(table.object) to keep") {
      try PostgresDestinationTable.copyKeys(keys, into: Self.keepTable, column: PostgresConnection.quoteIdentifier(matchField), on: connection)
    }
  }

  public func finishSweep(_ table: PostgresDestinationTable, matchField: String) throws -> Int {
    let match = PostgresConnection.quoteIdentifier(matchField)
    return try sweeping(table, "delete the records of \(table.object) absent from the model") {
      try connection.execute("ANALYZE \(Self.keepTable)")
      let rows = try connection.query(
        """
        WITH deleted AS (
          DELETE FROM \(table.name) AS t WHERE t.\(match) IS NOT NULL
          AND NOT EXISTS (SELECT FROM \(Self.keepTable) AS k WHERE k.\(match) = t.\(match))
          RETURNING 1)
        SELECT count(*) FROM deleted
        """)
      try connection.execute("DROP TABLE \(Self.keepTable)")
      return rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
    }
  }

  public func unkept(_ table: PostgresDestinationTable, matchField: String, sample: Int) throws
    -> (count: Int, sample: [String?])
  {
    let match = PostgresConnection.quoteIdentifier(matchField)
    let absent = """
      FROM \(table.name) AS t WHERE t.\(match) IS NOT NULL
      AND NOT EXISTS (SELECT FROM \(Self.keepTable) AS k WHERE k.\(match) = t.\(match))
      """
    return try sweeping(table, "read records of \(table.object)") {
      try connection.execute("ANALYZE \(Self.keepTable)")
      let count = try connection.query("SELECT count(*) \(absent)").first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
      let values = try connection.query(
        "SELECT left(t.\(match)::text, \(FieldDrift.maxLength + 1)) \(absent) ORDER BY t.\(match) LIMIT \(sample)")
      return (count, values.map { $0.first ?? nil })
    }
  }

  /// Runs a step of the sweep or of reading back, in words the user can act on when it fails.
  func sweeping<T>(_ table: PostgresDestinationTable, _ step: String, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as PostgresError {
      throw DestinationError("cannot \(step): \(Self.reason(error))")
    }
  }
}
