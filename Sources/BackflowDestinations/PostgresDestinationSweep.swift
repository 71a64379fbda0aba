import BackflowConfig
import BackflowPostgres

/// Mirror's first run on PostgreSQL: the match values to keep are copied into a temporary table
/// on a connection of the sweep's own, then one DELETE removes the table's other rows.
///
/// Rows whose match value is NULL are left alone: no model row can name them.
final class PostgresDestinationSweep: DestinationSweep {
  private let connection: BlockingQueue<PostgresConnection>
  private let table: PostgresDestinationTable
  private let matchField: String

  private init(table: PostgresDestinationTable, matchField: String) {
    self.connection = BlockingQueue(label: "backflow.postgres-destination.sweep")
    self.table = table
    self.matchField = matchField
  }

  static let keepTable = "pg_temp.backflow_keep"

  /// Connects and creates the table of kept values.
  static func start(conninfo: String, table: PostgresDestinationTable) async throws
    -> PostgresDestinationSweep
  {
    guard let matchField = table.matchField else {
      throw DestinationError("deleting the records absent from the model needs a match field")
    }
    let sweep = PostgresDestinationSweep(table: table, matchField: matchField)
    let match = TableSQL.quoted(matchField)
    try await sweep.connection.run { connection in
      let session = try PostgresDestinationSession(conninfo: conninfo)
      do {
        try session.connection.execute(
          "DROP TABLE IF EXISTS \(keepTable); CREATE TEMP TABLE backflow_keep AS SELECT "
            + "\(match) FROM \(table.name) WITH NO DATA")
      } catch let error as PostgresError {
        throw DestinationError(
          "cannot start deleting the records of \(table.object) absent from the model: "
            + PostgresDestinationSession.reason(error))
      }
      connection = session.connection
    }
    return sweep
  }

  func keep(_ keys: [JSONValue]) async throws {
    let object = table.object
    let match = TableSQL.quoted(matchField)
    try await connection.run { connection in
      guard let connection else { throw DestinationError("the sweep has already finished") }
      do {
        try PostgresDestinationTable.copyKeys(keys, into: Self.keepTable, column: match, on: connection)
      } catch let error as PostgresError {
        throw DestinationError(
          "cannot record the match values of \(object) to keep: "
            + PostgresDestinationSession.reason(error))
      }
    }
  }

  func finish() async throws -> Int {
    let table = self.table
    let match = TableSQL.quoted(matchField)
    return try await connection.run { connection in
      guard let current = connection else {
        throw DestinationError("the sweep has already finished")
      }
      defer { connection = nil }
      do {
        try current.execute("ANALYZE \(Self.keepTable)")
        let rows = try current.query(
          """
          WITH deleted AS (
            DELETE FROM \(table.name) AS t WHERE t.\(match) IS NOT NULL
            AND NOT EXISTS (SELECT FROM \(Self.keepTable) AS k WHERE k.\(match) = t.\(match))
            RETURNING 1)
          SELECT count(*) FROM deleted
          """)
        return rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
      } catch let error as PostgresError {
        throw DestinationError(
          "cannot delete the records of \(table.object) absent from the model: "
            + PostgresDestinationSession.reason(error))
      }
    }
  }
}
