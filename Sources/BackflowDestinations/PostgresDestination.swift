import BackflowConfig
import BackflowPostgres
import Foundation

/// A PostgreSQL table (`object: crm.contacts`) as a destination.
///
/// `prepare` checks the table, its columns and the match field's unique index before anything
/// is written. Each batch is copied into a temporary table with COPY and merged by one statement
/// in one transaction; a batch the database refuses is split until each refused record fails
/// alone, with PostgreSQL's message, and the others land. Up to `concurrency` batches run at
/// once, each on a connection and thread of its own.
public final class PostgresDestination: DestinationConnector, @unchecked Sendable {
  // @unchecked: `table` is only touched under `lock`.

  public let target: DestinationTarget
  /// Never shown: it may hold a password.
  private let conninfo: String
  private let pool: PostgresDestinationPool
  private let lock = NSLock()
  private var table: PostgresDestinationTable?

  public init(conninfo: String, target: DestinationTarget) {
    self.conninfo = conninfo
    self.target = target
    self.pool = PostgresDestinationPool(conninfo: conninfo, limit: target.concurrency)
  }

  public var writesAtFinish: Bool { false }

  public func prepare() async throws {
    let target = self.target
    let resolved = try await pool.withSession { session in
      do {
        return try PostgresDestinationTable.resolve(target, on: session.connection)
      } catch let error as PostgresError {
        throw DestinationError(
          "cannot check table \(target.object): \(PostgresDestinationSession.reason(error))")
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
    if let trace, trace.dryRun { return PostgresDestinationSession.dryRun(batch, to: table, trace: trace) }
    return try await pool.withSession { session in try session.send(batch, to: table, trace: trace) }
  }

  public func clear() async throws {
    let table = try await preparedTable()
    try await pool.withSession { session in try session.clear(table) }
  }

  public func sweep() async throws -> any DestinationSweep {
    try await PostgresDestinationSweep.start(conninfo: conninfo, table: try await preparedTable())
  }

  public func finish() async throws {
    await pool.close()
  }

  /// The table as `prepare` found it; prepares first if it has not run, so nothing is ever
  /// written to a table that was not checked.
  private func preparedTable() async throws -> PostgresDestinationTable {
    if let table = lock.withLock({ table }) { return table }
    try await prepare()
    guard let table = lock.withLock({ table }) else {
      throw DestinationError("table \(target.object) could not be checked")
    }
    return table
  }
}
