import BackflowConfig
import BackflowSQLite
import Foundation

/// A table in a SQLite database file (`object: contacts`) as a destination.
///
/// `prepare` checks the table, its columns and the match field's unique index before anything
/// is written. Each batch is one transaction with one reused statement per record, so a record
/// SQLite refuses fails alone, with SQLite's message, and the others land. SQLite has one
/// writer at a time, so batches run one after another on the destination's own thread, whatever
/// the sync's `concurrency`.
public final class SQLiteDestination: DestinationConnector, @unchecked Sendable {
  // @unchecked: `table` is only touched under `lock`.

  /// The database file, absolute.
  public let path: String
  public let target: DestinationTarget
  private let connection: BlockingQueue<SQLiteDestinationSession>
  private let lock = NSLock()
  private var table: SQLiteDestinationTable?

  public init(path: String, target: DestinationTarget) {
    self.path = path
    self.target = target
    self.connection = BlockingQueue(label: "backflow.sqlite-destination")
  }

  public var writesAtFinish: Bool { false }

  public func prepare() async throws {
    let target = self.target
    let resolved = try await withSession { session in
      do {
        return try SQLiteDestinationTable.resolve(target, in: session.database)
      } catch let error as SQLiteError {
        throw DestinationError(
          "cannot check table \(target.object) in \(session.path): \(error.message)")
      }
    }
    lock.withLock { table = resolved }
  }

  public func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    if batch.operation == .clear {
      try await clear()
      return batch.records.map { _ in .succeeded }
    }
    guard !batch.records.isEmpty else { return [] }
    let table = try await preparedTable()
    try table.columns.requireMatchField(for: batch.operation)
    let trace = target.trace
    if let trace, trace.dryRun { return SQLiteDestinationSession.dryRun(batch, to: table, trace: trace) }
    return try await withSession { session in try session.send(batch, to: table, trace: trace) }
  }

  public func clear() async throws {
    let table = try await preparedTable()
    try await withSession { session in try session.clear(table) }
  }

  public func sweep() async throws -> any DestinationSweep {
    let (path, target) = (self.path, self.target)
    return try await SQLiteDestinationSweep(
      connection: connection, table: try await preparedTable(),
      open: { try SQLiteDestinationSession(path: path, target: target) })
  }

  public func finish() async throws {
    await connection.close()
  }

  /// Runs `body` on the destination's thread with its connection, opening it first if needed.
  private func withSession<T: Sendable>(
    _ body: @escaping @Sendable (SQLiteDestinationSession) throws -> T
  ) async throws -> T {
    let (path, target) = (self.path, self.target)
    return try await connection.run { session in
      let current = try session ?? SQLiteDestinationSession(path: path, target: target)
      session = current
      return try body(current)
    }
  }

  /// The table as `prepare` found it; prepares first if it has not run, so nothing is ever
  /// written to a table that was not checked.
  private func preparedTable() async throws -> SQLiteDestinationTable {
    if let table = lock.withLock({ table }) { return table }
    try await prepare()
    guard let table = lock.withLock({ table }) else {
      throw DestinationError("table \(target.object) could not be checked")
    }
    return table
  }
}
