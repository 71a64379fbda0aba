import BackflowConfig
import BackflowPostgres
import Foundation

/// One connection of a PostgreSQL destination and the batch table on it; used on one thread
/// at a time (a `BlockingQueue`).
public final class PostgresDestinationSession: TableSession {
  let connection: PostgresConnection
  /// Whether this connection's batch table exists yet.
  private var hasBatchTable = false
  /// Whether batches are still first copied straight into the target (`copyDirectly`).
  private var copiesDirectly = true
  /// Reading back: each column's type as SQL spells it, and whether the type has its own `=`.
  var columnTypes: [String: (name: String, equality: Bool)]?

  /// Connects; the error never holds the connection string, which may carry a password.
  public init(conninfo: String) throws {
    do {
      connection = try PostgresConnection(conninfo: conninfo)
    } catch let error as PostgresError {
      throw DestinationError("cannot connect to PostgreSQL: \(Self.reason(error))", kind: .connection)
    }
  }

  /// Applies a batch and returns one outcome per record, in order.
  ///
  /// A batch that only inserts records the target does not hold is copied straight into it
  /// (`copyDirectly`). Otherwise, or if that fails, the records are copied into the batch table
  /// and merged by one statement in one transaction. If that fails, the batch is split in halves,
  /// each tried in its own transaction, and so on down to single records: a record that fails
  /// alone fails with the database's message while every other record lands.
  ///
  /// A `trace` is told each statement, the rows copied, and each result; a traced batch always
  /// takes the batch table, so that the trace shows what an existing record would go through.
  public func send(
    _ batch: DestinationBatch, pending: [Int], outcomes: inout [RecordOutcome?], to table: PostgresDestinationTable,
    trace: DestinationTrace?
  ) throws {
    if trace == nil, try copyDirectly(pending, of: batch, table: table) { return }
    try ensureBatchTable(table)
    try attempt(pending[...], of: batch, table: table, outcomes: &outcomes, trace: trace)
  }

  /// The COPY into the batch table and the merge, which is what a traced batch goes through.
  public func describe(
    _ batch: DestinationBatch, pending: [Int], to table: PostgresDestinationTable, trace: DestinationTrace
  ) {
    let rows = pending.map { table.row(batch.records[$0], ordinal: $0, operation: batch.operation) }
    trace(.copy(sql: table.copySQL(batch.operation), rows: rows.map { $0.map(TraceLiteral.text) }))
    trace.notRun()
    trace(.statement(sql: table.mergeSQL(batch.operation), parameters: []))
    trace.notRun()
  }

  public func resolve(_ target: DestinationTarget) throws -> PostgresDestinationTable {
    do {
      return try PostgresDestinationTable.resolve(target, on: connection)
    } catch let error as PostgresError {
      throw DestinationError("cannot check table \(target.object): \(Self.reason(error))")
    }
  }

  public var isLost: Bool { connection.isLost }

  /// Empties the table.
  public func clear(_ table: PostgresDestinationTable) throws {
    do {
      try connection.execute(table.mergeSQL(.clear))
    } catch let error as PostgresError {
      throw DestinationError("cannot empty \(table.object): \(Self.reason(error))")
    }
  }

  /// Copies `indexes` of the batch straight into the target in one transaction, for operations
  /// that insert what the target does not hold (an initial sync's upserts, an insert-only sync);
  /// returns whether it did. When it did not, nothing was written and the batch table takes the
  /// batch. A record the target already holds fails the COPY with a unique violation.
  private func copyDirectly(_ indexes: [Int], of batch: DestinationBatch, table: PostgresDestinationTable) throws
    -> Bool
  {
    guard copiesDirectly, let sql = table.directCopySQL(batch.operation) else { return false }
    do {
      try connection.execute("BEGIN")
      try copy(indexes, of: batch, table: table, by: sql, withOrdinals: false)
      try connection.execute("COMMIT")
      return true
    } catch let error as PostgresError {
      _ = try? connection.execute("ROLLBACK")
      if connection.isLost {
        throw DestinationError("lost the connection to PostgreSQL during batch \(batch.number): \(Self.reason(error))", kind: .connection)
      }
      // A bad value or a broken constraint (classes 22, 23) is one record's fault, and the next
      // batch may have none. Records the target holds (a resync, changed rows) or a target COPY
      // cannot write (a view, row-level security) would fail every batch after it: stop trying.
      let state = error.sqlState ?? ""
      if state == "23505" || !(state.hasPrefix("22") || state.hasPrefix("23")) { copiesDirectly = false }
      return false
    }
  }

  /// Tries `indexes` of the batch in one transaction, and splits them on failure.
  private func attempt(
    _ indexes: ArraySlice<Int>, of batch: DestinationBatch, table: PostgresDestinationTable,
    outcomes: inout [RecordOutcome?], trace: DestinationTrace?
  ) throws {
    do {
      let found = try merge(indexes, of: batch, table: table, trace: trace)
      for index in indexes {
        outcomes[index] =
          found.map { $0.contains(index) ? .succeeded : .failed("not found") }
          ?? .succeeded
      }
    } catch let failure as MergeFailure {
      trace?(.statement(sql: "ROLLBACK", parameters: []))
      _ = try? connection.execute("ROLLBACK")
      if connection.isLost {
        throw DestinationError(
          "lost the connection to PostgreSQL during batch \(batch.number): \(failure.reason)")
      }
      // A refusal that is no record's fault would fail every piece the same way, so it fails
      // the records here: no privilege or a column dropped since prepare (class 42), a full
      // disk or exhausted memory (53), a system or internal error (58, XX).
      let failsEveryRecord = ["42", "53", "58", "XX"].contains(failure.sqlState?.prefix(2) ?? "")
      guard indexes.count > 1, !failsEveryRecord else {
        for index in indexes { outcomes[index] = .failed(failure.reason) }
        return
      }
      let middle = indexes.startIndex + indexes.count / 2
      try attempt(indexes[..<middle], of: batch, table: table, outcomes: &outcomes, trace: trace)
      try attempt(indexes[middle...], of: batch, table: table, outcomes: &outcomes, trace: trace)
    }
  }

  /// Copies `indexes` of the batch and merges them in one transaction; for `update`, returns
  /// the indexes the merge found. Throws `MergeFailure` after which the transaction must be
  /// rolled back.
  private func merge(
    _ indexes: ArraySlice<Int>, of batch: DestinationBatch, table: PostgresDestinationTable,
    trace: DestinationTrace?
  ) throws -> Set<Int>? {
    let operation = batch.operation
    do {
      trace?(.statement(sql: "BEGIN", parameters: []))
      try connection.execute("BEGIN")
      let copySQL = table.copySQL(operation)
      if let trace {
        let rows = indexes.map { table.row(batch.records[$0], ordinal: $0, operation: operation) }
        trace(.copy(sql: copySQL, rows: rows.map { $0.map(TraceLiteral.text) }))
      }
      try copy(indexes, of: batch, table: table, by: copySQL, withOrdinals: true)
      trace?(.result("\(plural(indexes.count, "row")) copied"))
      if operation == .update, indexes.count > 1,
        !(try connection.query(table.duplicateKeySQL).isEmpty)
      {
        // Two records with one match value: splitting puts them in separate transactions,
        // applied in order. No record is at fault.
        throw MergeFailure(reason: "the same match value twice in one batch", sqlState: nil)
      }
      // libpq's count of changed rows is not reachable from here; a trace counts the records
      // the merge will find instead, in the same transaction, read-only.
      var existing: Int?
      if trace != nil, let countSQL = table.existingCountSQL(operation) {
        existing = try connection.query(countSQL).first?.first.flatMap { $0 }.flatMap { Int($0) }
      }
      let mergeSQL = table.mergeSQL(operation)
      trace?(.statement(sql: mergeSQL, parameters: []))
      let rows = try connection.query(mergeSQL)
      trace?(.result(table.describeMerge(operation, copied: indexes.count, existing: existing, returned: rows.count)))
      trace?(.statement(sql: "COMMIT", parameters: []))
      try connection.execute("COMMIT")
      guard operation == .update else { return nil }
      return Set(rows.compactMap { $0.first.flatMap { $0 }.flatMap { Int($0) } })
    } catch let error as PostgresError {
      trace?(.result("error: \(Self.reason(error))"))
      throw MergeFailure(reason: Self.reason(error), sqlState: error.sqlState)
    }
  }

  /// Runs `sql`, a `COPY … FROM STDIN`, with `indexes` of the batch as its rows, each led by its
  /// ordinal in the batch `withOrdinals` (the batch table's rows).
  private func copy(
    _ indexes: some Collection<Int>, of batch: DestinationBatch, table: PostgresDestinationTable, by sql: String,
    withOrdinals: Bool
  ) throws {
    let copy = try connection.copyIn(sql)
    var row: [String?] = []
    for index in indexes {
      table.fill(&row, with: batch.records[index], ordinal: withOrdinals ? index : nil, operation: batch.operation)
      try copy.write(row)
    }
    try copy.finish()
  }

  /// Creates the batch table on first use; the connection keeps it until it closes.
  private func ensureBatchTable(_ table: PostgresDestinationTable) throws {
    guard !hasBatchTable else { return }
    do {
      try connection.execute(table.createBatchTableSQL)
    } catch let error as PostgresError {
      throw DestinationError("cannot prepare a batch for \(table.object): \(Self.reason(error))")
    }
    hasBatchTable = true
  }

  /// The server's message on one line (`primary; DETAIL: …; HINT: …`), without the severity,
  /// and without the CONTEXT and query excerpt, which would name Backflow's own batch table and
  /// statement rather than the record's problem.
  static func reason(_ error: PostgresError) -> String {
    var lines: [String] = []
    for line in error.message.split(whereSeparator: \.isNewline) {
      var text = line.trimmingCharacters(in: .whitespaces)
      if text.hasPrefix("CONTEXT:") || text.hasPrefix("LINE ") || text.hasPrefix("^") { continue }
      for label in ["ERROR:", "FATAL:", "PANIC:"] where text.hasPrefix(label) {
        text = String(text.dropFirst(label.count)).trimmingCharacters(in: .whitespaces)
      }
      for label in ["DETAIL:", "HINT:"] where text.hasPrefix(label) {
        text = label + " " + text.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
      }
      if !text.isEmpty { lines.append(text) }
    }
    return lines.isEmpty ? error.message : lines.joined(separator: "; ")
  }
}

/// Why a merge was rolled back.
private struct MergeFailure: Error {
  var reason: String
  var sqlState: String?
}
