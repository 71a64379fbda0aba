import BackflowConfig
import BackflowDestinations
import BackflowMySQL
import Foundation

/// A MySQL or MariaDB table as a destination.
///
/// `prepare` checks the table, its columns and the match field's unique index before anything
/// is written. Batches run one after another on one connection on the destination's own thread,
/// whatever the sync's `concurrency`; an inserting batch is one multi-row statement unless the
/// server refuses it, and then one statement per record (`MySQLDestinationSession.send`).
final class MySQLDestination: DestinationConnector, @unchecked Sendable {
  // @unchecked: `table` is only touched under `lock`.

  let settings: MySQLSettings
  let target: DestinationTarget
  private let connection = BlockingQueue<MySQLDestinationSession>(label: "backflow.mysql-destination")
  private let lock = NSLock()
  private var table: MySQLDestinationTable?

  init(settings: MySQLSettings, target: DestinationTarget) {
    self.settings = settings
    self.target = target
  }

  var writesAtFinish: Bool { false }

  func prepare() async throws {
    let target = self.target
    let resolved = try await withSession { try MySQLDestinationTable.resolve(target, on: $0.connection) }
    lock.withLock { table = resolved }
  }

  func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    if batch.operation == .clear {
      try await clear()
      return batch.records.map { _ in .succeeded }
    }
    guard !batch.records.isEmpty else { return [] }
    let table = try await preparedTable()
    try table.columns.requireMatchField(for: batch.operation)
    let trace = target.trace
    return try await withSession { try $0.send(batch, to: table, trace: trace) }
  }

  func clear() async throws {
    let table = try await preparedTable()
    try await withSession { session in
      do {
        try session.connection.execute(table.sql(.clear, []))
      } catch let error as MySQLError {
        throw DestinationError("cannot empty \(table.object): \(error)")
      }
    }
  }

  func sweep() async throws -> any DestinationSweep {
    let table = try await preparedTable()
    guard let matchField = table.matchField else {
      throw DestinationError("deleting the records absent from the model needs a match field")
    }
    try await withKeepTable(table, matchField) { try $0.create() }
    return MySQLDestinationSweep(destination: self, table: table, matchField: matchField)
  }

  func finish() async throws {
    await connection.close()
  }

  /// Runs `body` with the sweep's table of kept values, in words the user can act on when it fails.
  func withKeepTable<T: Sendable>(
    _ table: MySQLDestinationTable, _ matchField: String, _ body: @escaping @Sendable (MySQLKeepTable) throws -> T
  ) async throws -> T {
    try await withSession { session in
      do {
        return try body(MySQLKeepTable(session: session, table: table, matchField: matchField, name: "backflow_keep"))
      } catch let error as MySQLError {
        throw DestinationError("cannot delete the records of \(table.object) absent from the model: \(error)")
      }
    }
  }

  /// Runs `body` on the destination's thread with its connection, connecting first if needed.
  private func withSession<T: Sendable>(_ body: @escaping @Sendable (MySQLDestinationSession) throws -> T) async throws
    -> T
  {
    let settings = self.settings
    return try await connection.run { session in
      let current = try session ?? MySQLDestinationSession(settings: settings)
      session = current
      return try body(current)
    }
  }

  /// The table as `prepare` found it; prepares first if it has not run, so nothing is ever
  /// written to a table that was not checked.
  private func preparedTable() async throws -> MySQLDestinationTable {
    if let table = lock.withLock({ table }) { return table }
    try await prepare()
    guard let table = lock.withLock({ table }) else {
      throw DestinationError("table \(target.object) could not be checked")
    }
    return table
  }
}

/// Mirror's first run: kept match values go into a temporary table on the destination's
/// connection, then one DELETE removes the table's other records.
final class MySQLDestinationSweep: DestinationSweep {
  private let destination: MySQLDestination
  private let table: MySQLDestinationTable
  private let matchField: String

  init(destination: MySQLDestination, table: MySQLDestinationTable, matchField: String) {
    self.destination = destination
    self.table = table
    self.matchField = matchField
  }

  func keep(_ keys: [JSONValue]) async throws {
    try await destination.withKeepTable(table, matchField) { try $0.keep(keys) }
  }

  func finish() async throws -> Int {
    try await destination.withKeepTable(table, matchField) { keep in
      let deleted = try keep.session.connection.execute("DELETE t FROM \(keep.absent)")
      try keep.drop()
      return Int(deleted)
    }
  }
}
