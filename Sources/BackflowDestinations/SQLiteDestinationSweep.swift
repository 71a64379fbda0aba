import BackflowConfig

/// Mirror's first run on SQLite: the match values to keep go into a temporary table on the
/// destination's one connection, then one DELETE removes the table's other rows.
final class SQLiteDestinationSweep: DestinationSweep {
  private let connection: BlockingQueue<SQLiteDestinationSession>
  private let table: SQLiteDestinationTable
  private let matchField: String

  /// Creates the table of kept values on `connection`, opened by `open` if it is not yet.
  init(
    connection: BlockingQueue<SQLiteDestinationSession>, table: SQLiteDestinationTable,
    open: @escaping @Sendable () throws -> SQLiteDestinationSession
  ) async throws {
    guard let matchField = table.matchField else {
      throw DestinationError("deleting the records absent from the model needs a match field")
    }
    self.connection = connection
    self.table = table
    self.matchField = matchField
    try await connection.run { session in
      let current = try session ?? open()
      session = current
      try current.startSweep(table, matchField: matchField)
    }
  }

  func keep(_ keys: [JSONValue]) async throws {
    let (table, matchField) = (self.table, self.matchField)
    try await connection.run { session in
      guard let session else { throw DestinationError("the destination has already finished") }
      try session.keep(keys, table: table, matchField: matchField)
    }
  }

  func finish() async throws -> Int {
    let (table, matchField) = (self.table, self.matchField)
    return try await connection.run { session in
      guard let session else { throw DestinationError("the destination has already finished") }
      return try session.finishSweep(table, matchField: matchField)
    }
  }
}
