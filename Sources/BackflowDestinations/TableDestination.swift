import BackflowConfig
import Foundation

/// A database table as a destination, whichever database holds it (`TableSession`).
///
/// `prepare` checks the table, its columns and the match field's unique index before anything
/// is written. Up to `connections` batches run at once, each on a connection and thread of its
/// own; the session decides how a batch is written and how a refused record fails alone.
public final class TableDestination<Session: TableSession>: DestinationConnector, @unchecked Sendable {
  // @unchecked: `table` is only touched under `lock`.

  public let target: DestinationTarget
  private let pool: SessionPool<Session>
  private let open: @Sendable () throws -> Session
  private let dedicatedSweep: Bool
  private let lock = NSLock()
  private var table: Session.Table?

  /// `open` connects; nothing connects before the first batch or `prepare`.
  public init(target: DestinationTarget, connections: Int, label: String, open: @escaping @Sendable () throws -> Session) {
    self.target = target
    self.open = open
    pool = SessionPool(label: label, limit: connections, open: open)
    // The sweep's temporary table lives on one connection: the destination's only one, or one of
    // its own when batches run on several.
    dedicatedSweep = connections > 1
  }

  public var writesAtFinish: Bool { false }

  public func prepare() async throws {
    let target = self.target
    let resolved = try await pool.withSession { try $0.resolve(target) }
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
    let (screened, pending, nothingToSend) = table.columns.screen(batch)
    trace?.refusals(screened)
    if nothingToSend {
      trace?.nothingToSend(batch.operation, pending: pending)
    } else if let trace, trace.dryRun {
      try await pool.withSession { try $0.describe(batch, pending: pending, to: table, trace: trace) }
    } else {
      let outcomes = try await pool.withSession { session in
        var outcomes = screened
        try session.send(batch, pending: pending, outcomes: &outcomes, to: table, trace: trace)
        return outcomes
      }
      return outcomes.map { $0 ?? .succeeded }
    }
    return screened.map { $0 ?? .succeeded }
  }

  public func clear() async throws {
    let table = try await preparedTable()
    try await pool.withSession { try $0.clear(table) }
  }

  public func sweep() async throws -> any DestinationSweep {
    let table = try await preparedTable()
    guard let matchField = table.columns.matchField else {
      throw DestinationError("deleting the records absent from the model needs a match field")
    }
    let pool = dedicatedSweep ? SessionPool(label: "backflow.sweep", limit: 1, open: open) : self.pool
    try await pool.withSession { try $0.startSweep(table, matchField: matchField) }
    return TableSweep(pool: pool, table: table, matchField: matchField, closesPool: dedicatedSweep)
  }

  public func finish() async throws {
    await pool.close()
  }

  /// The table as `prepare` found it; prepares first if it has not run, so nothing is ever
  /// written to a table that was not checked.
  private func preparedTable() async throws -> Session.Table {
    if let table = lock.withLock({ table }) { return table }
    try await prepare()
    guard let table = lock.withLock({ table }) else {
      throw DestinationError("table \(target.object) could not be checked")
    }
    return table
  }
}

/// Mirror's first run on a table: the match values to keep, then one DELETE of the rest, on the
/// connection that holds the temporary table.
final class TableSweep<Session: TableSession>: DestinationSweep {
  private let pool: SessionPool<Session>
  private let table: Session.Table
  private let matchField: String
  private let closesPool: Bool

  init(pool: SessionPool<Session>, table: Session.Table, matchField: String, closesPool: Bool) {
    self.pool = pool
    self.table = table
    self.matchField = matchField
    self.closesPool = closesPool
  }

  func keep(_ keys: [JSONValue]) async throws {
    let (table, matchField) = (self.table, self.matchField)
    try await pool.withSession { try $0.keep(keys, table: table, matchField: matchField) }
  }

  func finish() async throws -> Int {
    let (table, matchField) = (self.table, self.matchField)
    let deleted = try await pool.withSession { try $0.finishSweep(table, matchField: matchField) }
    if closesPool { await pool.close() }
    return deleted
  }
}
