import BackflowConfig
import BackflowDestinations
import BackflowPlanner
import BackflowState
import BackflowSyncLogs
import Foundation

/// One run of one sync: its planned rows sent to the destination in batches, each outcome
/// recorded, and the snapshot advanced for the rows that succeeded, and only those.
///
/// The engine gives it a plan file and the state store; the batch loop's tests give it rows, a
/// ledger and a destination in memory.
public final class SyncRun {
  /// A planned row in flight: what the snapshot records if it succeeds.
  struct PlannedRef: Sendable {
    var operation: PlannedOperation
    var key: String?
    var fingerprint: String
    var matchValue: String?
    /// The id the destination gave the record (compact JSON): kept, or named by its answer.
    var destinationID: String?
    /// The plan file's row, kept only when the run writes a changelog.
    var row: PlannedRow?
    /// The planned columns' text, kept only when the sync has a typed copy.
    var values: [String?]?
  }

  enum PlannedOperation: String, Sendable {
    case add
    case change
    case remove
  }

  private struct BatchResult: Sendable {
    var refs: [PlannedRef]
    var outcome: Result<[DeliveredRecord], DestinationError>
  }

  private typealias Batch = (operation: DestinationOperation, records: [DestinationRecord], refs: [PlannedRef])

  private struct Pending {
    var records: [DestinationRecord] = []
    var refs: [PlannedRef] = []
  }

  private let sync: Sync
  private let rows: any PlannedRowSource
  private var mapper: RecordMapper
  private let connector: any DestinationConnector
  private let ledger: any RunLedger
  /// Records the snapshot's advance one batch behind sending.
  private let writer: SnapshotWriter
  private let cancellation: Cancellation
  private let progress: (RunRecord) -> Void
  private let sweep: Bool
  private let changelog: ChangelogSpool?
  /// Whether the rows are planned as they are read (`PlanStream`), so the run's planned counts
  /// grow as it reads them instead of coming from a plan file's header.
  private let plannedAsRead: Bool
  /// The operations read in each pass; a sync with a typed copy also reads the unchanged rows
  /// its copy lacked values for.
  private var passes: [[String]] {
    [["remove"], ["add", "change", "record", "reject"] + (copy == nil ? [] : ["unchanged"])]
  }
  /// The pass being read, and how many passes are done: where a stopped run's unsent rows are.
  private var passRows: (any PlannedRowReader)?
  private var passesDone = 0
  /// Rows a destination that writes at the end accepted: succeeded only once it has written.
  private var provisional: [PlannedRow] = []

  public private(set) var run: RunRecord
  /// Facts the user should read in the summary.
  public private(set) var notes: [String] = []
  private var pending: [DestinationOperation: Pending] = [:]
  private var batchNumber = 0
  private var bucket: TokenBucket?
  private var stopReason: String?
  private var skipped = OperationCounts()
  /// Rows failed before reaching the destination: rejected keys, templates that did not render.
  private var unsent = 0
  /// State changes not yet written: per batch, or at the end for destinations that write at finish.
  /// Added rows are new entries (the plan found them absent, and a run's keys are unique), and so
  /// are recorded ones (a CDC reset clears the snapshot first).
  private var advance: SnapshotAdvance
  /// The sync's typed copy, whose values change with the snapshot's entries.
  private let copy: TypedCopy?

  /// - Parameters:
  ///   - run: the run as the state store started it, with its planned counts.
  ///   - sweep: whether this is mirror's full run that deletes what the model does not hold.
  ///   - progress: called after each batch's outcome is recorded.
  ///   - jsonColumns: the model's columns read as JSON (`Project.jsonColumns(of:)`).
  public convenience init(
    sync: Sync, run: RunRecord, rows: any PlannedRowSource, sweep: Bool, connector: any DestinationConnector,
    ledger: any RunLedger, cancellation: Cancellation, clock: any PacingClock, jsonColumns: [String] = [],
    copy: TypedCopy? = nil, progress: @escaping (RunRecord) -> Void = { _ in }
  ) throws {
    try self.init(
      sync: sync, run: run, rows: rows, sweep: sweep, connector: connector, ledger: ledger, changelog: nil,
      cancellation: cancellation, clock: clock, jsonColumns: jsonColumns, copy: copy, progress: progress)
  }

  /// With `changelog`, every row's outcome is also written for the sync logs; with `plannedAsRead`,
  /// `run.planned` counts the rows read rather than a plan's.
  init(
    sync: Sync, run: RunRecord, rows: any PlannedRowSource, sweep: Bool, connector: any DestinationConnector,
    ledger: any RunLedger, changelog: ChangelogSpool?, plannedAsRead: Bool = false, cancellation: Cancellation,
    clock: any PacingClock, jsonColumns: [String], copy: TypedCopy?, progress: @escaping (RunRecord) -> Void
  ) throws {
    self.sync = sync
    self.copy = copy
    advance = SnapshotAdvance(copy: copy)
    self.plannedAsRead = plannedAsRead
    self.changelog = changelog
    self.run = run
    self.rows = rows
    self.sweep = sweep
    mapper = try RecordMapper(sync: sync, jsonColumns: jsonColumns)
    self.connector = connector
    self.ledger = ledger
    writer = SnapshotWriter(ledger: ledger, syncID: run.syncID, runID: run.id)
    self.cancellation = cancellation
    self.progress = progress
    self.clock = clock
    bucket = sync.batch.rate.map { TokenBucket(rate: $0.value.perSecond, now: clock.now()) }
  }

  private let clock: any PacingClock

  /// Sends every planned row and records the outcome; never throws: a sync-level failure is the
  /// run's `error`.
  public func execute() async -> RunRecord {
    do {
      try await connector.prepare()
      if sweep { try await sendWithSweep() } else { try await sendAll(sweeping: nil) }
    } catch {
      stop(FailureKind.message(of: error))
    }
    await finish()
    return run
  }

  private func sendWithSweep() async throws {
    let sweeper = try await connector.sweep()
    try await sendAll(sweeping: sweeper)
    guard stopReason == nil, !cancellation.isRequested else {
      notes.append("mirror's sweep was skipped because the run did not send every row; the next full run does it")
      return
    }
    // A row that was never sent (a duplicate key, a template that failed) has a record the sweep
    // cannot tell from a stranger's.
    guard unsent == 0 else {
      notes.append(
        "mirror's sweep was skipped: \(plural(unsent, "row")) of the model could not be sent, so its records are "
          + "not all known; fix them, then `backflow resync \(sync.name.value)`")
      return
    }
    let deleted = try await sweeper.finish()
    if !connector.writesAtFinish {
      try writeState(waiting: true)
      try ledger.markSwept(syncID: run.syncID)
    }
    sweptRecords = deleted
  }

  private var sweptRecords: Int?
  private var failedAtFinish: String?
  /// Why the changelog is incomplete, when it is; the run itself is unaffected.
  public private(set) var changelogError: String?

  // Removals go first, so a match value that moved from a removed row to an added one ends up
  // on the added row's record.
  private func sendAll(sweeping sweeper: (any DestinationSweep)?) async throws {
    let connector = connector
    let limit = max(1, sync.batch.concurrency.value)
    for operations in passes {
      let rows = try rows.rows(operations)
      passRows = rows
      await withTaskGroup(of: BatchResult.self) { group in
        var inFlight = 0
        do {
          while true {
            // A slot first, then the batch: formed first, a batch waited in memory for its slot,
            // one batch more held whenever the pipeline was full.
            while inFlight >= limit, let result = await group.next() {
              inFlight -= 1
              handle(result)
            }
            guard var batch = try nextBatch(from: rows) else { break }
            try await sweeper?.keep(batch.records.map(\.key))
            try attachDestinationIDs(&batch)
            // A batch formed as the run was told to stop is not sent.
            if stopReason != nil || cancellation.isRequested {
              for ref in batch.refs { log(ref, .aborted) }
              break
            }
            let request = await pace(batch)
            group.addTask { await Self.send(request, refs: batch.refs, to: connector) }
            inFlight += 1
          }
        } catch {
          stop(FailureKind.message(of: error))
        }
        while let result = await group.next() { handle(result) }
      }
      if stopReason != nil || cancellation.isRequested { return }
      passRows = nil
      passesDone += 1
    }
  }

  /// The next full batch, then the partial ones once the rows run out; `nil` when there is
  /// nothing left to send or the run is stopping.
  private func nextBatch(from rows: any PlannedRowReader) throws -> Batch? {
    while stopReason == nil, !cancellation.isRequested, let row = try rows.next() {
      mapper.bind(rows.columns)
      if let batch = try take(row) { return batch }
    }
    guard stopReason == nil, !cancellation.isRequested else { return nil }
    for operation in DestinationOperation.allCases {
      if let batch = flush(operation) { return batch }
    }
    return nil
  }

  /// Gives the records of rows the snapshot holds the ids kept for them, when the destination
  /// reads them (a rest request's `record.destination_id`).
  private func attachDestinationIDs(_ batch: inout Batch) throws {
    guard connector.readsDestinationIDs else { return }
    let keys = batch.refs.filter { $0.operation != .add }.compactMap(\.key)
    guard !keys.isEmpty else { return }
    let kept = try writer.destinationIDs(keys)
    for index in batch.refs.indices {
      guard let key = batch.refs[index].key, let id = kept[key] else { continue }
      batch.refs[index].destinationID = id
      batch.records[index].destinationID = try? JSONValue.parse(id)
    }
  }

  /// Waits for the rate limit and numbers the batch.
  private func pace(_ batch: Batch) async -> DestinationBatch {
    if let wait = bucket?.take(now: clock.now()), wait > 0 {
      await clock.sleep(seconds: wait)
    }
    batchNumber += 1
    return DestinationBatch(number: batchNumber, operation: batch.operation, records: batch.records)
  }

  private static func send(_ batch: DestinationBatch, refs: [PlannedRef], to connector: any DestinationConnector) async
    -> BatchResult
  {
    do {
      return BatchResult(refs: refs, outcome: .success(try await connector.sendKeepingIDs(batch)))
    } catch {
      return BatchResult(refs: refs, outcome: .failure(DestinationError(FailureKind.message(of: error), kind: FailureKind.of(error))))
    }
  }

  /// Files one planned row; returns a batch when one is full.
  private func take(_ row: PlannedRow) throws -> Batch? {
    let changelogRow = changelog == nil ? nil : row
    if plannedAsRead { countPlanned(row) }
    switch row {
    case let .reject(planned, reason):
      let reason = reason == .nullKey ? "primary key is NULL" : "duplicate primary key"
      run.failed.add += 1
      advance.failures.append(FailedRow(operation: PlannedOperation.add.rawValue, key: planned.key, reason: reason))
      changelog?.append(planned: row, columns: mapper.columns, .failed, reason: reason)
      unsent += 1
      return nil
    case let .record(planned):
      advance.newEntries.append(
        SnapshotEntry(
          key: planned.key ?? "", fingerprint: planned.fingerprint, matchValue: mapper.matchValue(of: planned.values),
          values: copyValues(planned)))
      try flushStateIfLarge()
      return nil
    case let .unchanged(planned):
      // Listed for the typed copy (or the sync logs): nothing is sent.
      if copy != nil {
        advance.refreshed.append(
          SnapshotEntry(key: planned.key ?? "", fingerprint: planned.fingerprint, values: copyValues(planned)))
        try flushStateIfLarge()
      }
      return nil
    case let .remove(entry):
      let ref = PlannedRef(operation: .remove, key: entry.key, fingerprint: entry.fingerprint, matchValue: nil, row: changelogRow)
      guard let operation = sync.destinationOperation(for: .remove) else { return skip(ref) }
      return add(mapper.removal(key: entry.key, matchValue: entry.matchValue, operation: operation), ref, to: operation)
    case let .add(planned), let .change(planned):
      let operation: PlannedOperation = if case .add = row { .add } else { .change }
      let ref = PlannedRef(
        operation: operation, key: planned.key, fingerprint: planned.fingerprint,
        matchValue: mapper.matchValue(of: planned.values), row: changelogRow, values: copyValues(planned))
      guard let destinationOperation = sync.destinationOperation(for: operation) else { return skip(ref) }
      do {
        return add(try mapper.record(key: planned.key ?? "", values: planned.values), ref, to: destinationOperation)
      } catch {
        // A template that cannot render this row fails the row, not the run.
        run.failed[operation] += 1
        advance.failures.append(
          FailedRow(operation: operation.rawValue, key: planned.key, reason: FailureKind.message(of: error)))
        log(ref, .failed, reason: FailureKind.message(of: error))
        unsent += 1
        return nil
      }
    }
  }

  /// The row's values as the typed copy records them; `nil` without one. A `jsonb` value read
  /// back from a plan file may have become a plain string, number or boolean: it goes as JSON.
  private func copyValues(_ planned: FingerprintedRow) -> [String?]? {
    guard let copy else { return nil }
    return zip(planned.values, copy.types).map { value, type in
      guard type == "jsonb" else { return value.text }
      return switch value {
      case let .string(text): JSONValue.quoted(text)
      case let .bool(flag): flag ? "true" : "false"
      default: value.text
      }
    }
  }

  /// Rejected rows count as additions that fail, as in `DataCounts.planned`.
  private func countPlanned(_ row: PlannedRow) {
    switch row {
    case .add, .reject: run.planned.add += 1
    case .change: run.planned.change += 1
    case .remove: run.planned.remove += 1
    case .record, .unchanged: break
    }
  }

  private func skip(_ ref: PlannedRef) -> Batch? {
    skipped[ref.operation] += 1
    run.succeeded[ref.operation] += 1
    record(success: ref)
    log(ref, .succeeded)
    return nil
  }

  private func add(_ record: DestinationRecord, _ ref: PlannedRef, to operation: DestinationOperation)
    -> Batch?
  {
    if pending[operation] == nil {
      // Room for a whole batch up front: growing by doubling copies and frees large arrays.
      var batch = Pending()
      let capacity = min(sync.batch.size.value, 16_384)
      batch.records.reserveCapacity(capacity)
      batch.refs.reserveCapacity(capacity)
      pending[operation] = batch
    }
    pending[operation]?.records.append(record)
    pending[operation]?.refs.append(ref)
    return (pending[operation]?.records.count ?? 0) >= sync.batch.size.value ? flush(operation) : nil
  }

  private func flush(_ operation: DestinationOperation)
    -> Batch?
  {
    guard let batch = pending.removeValue(forKey: operation), !batch.records.isEmpty else { return nil }
    return (operation, batch.records, batch.refs)
  }

  private func handle(_ result: BatchResult) {
    var outcomes: [DeliveredRecord]
    switch result.outcome {
    case let .success(list) where list.count == result.refs.count:
      outcomes = list
    case let .success(list):
      let message = "the destination answered \(list.count) outcomes for \(result.refs.count) records"
      outcomes = result.refs.map { _ in DeliveredRecord(outcome: .failed(message)) }
      stop(message)
    case let .failure(error):
      outcomes = result.refs.map { _ in DeliveredRecord(outcome: .failed(error.message)) }
      stop(error.message)
    }
    for (var ref, delivered) in zip(result.refs, outcomes) {
      run.attempted[ref.operation] += 1
      // Only a record that arrived has its id kept.
      if let id = delivered.destinationID { ref.destinationID = id.rendered(compact: true) }
      switch delivered.outcome {
      case .succeeded:
        run.succeeded[ref.operation] += 1
        record(success: ref)
        log(ref, .succeeded)
      case let .failed(reason):
        run.failed[ref.operation] += 1
        advance.failures.append(FailedRow(operation: ref.operation.rawValue, key: ref.key, reason: reason))
        log(ref, .failed, reason: reason)
      }
    }
    do {
      if !connector.writesAtFinish { try writeState() }
    } catch {
      stop("could not record the run in the state store: \(FailureKind.message(of: error))")
    }
    progress(run)
  }

  private func record(success ref: PlannedRef) {
    if ref.operation == .remove {
      if let key = ref.key { advance.removedKeys.append(key) }
    } else if let key = ref.key {
      let entry = SnapshotEntry(
        key: key, fingerprint: ref.fingerprint, matchValue: ref.matchValue, destinationID: ref.destinationID,
        values: ref.values)
      if ref.operation == .add { advance.newEntries.append(entry) } else { advance.entries.append(entry) }
    }
  }

  private func log(_ ref: PlannedRef, _ status: SyncLogEntry.Status, reason: String? = nil) {
    guard let changelog, let row = ref.row else { return }
    if status == .succeeded, connector.writesAtFinish {
      provisional.append(row)
    } else {
      changelog.append(planned: row, columns: mapper.columns, status, reason: reason)
    }
  }

  /// Rows the run never attempted: batches still being formed, the rest of the pass it stopped
  /// in, and the passes after it.
  private func logAborted() throws {
    guard let changelog else { return }
    for batch in pending.values {
      for ref in batch.refs { log(ref, .aborted) }
    }
    pending.removeAll()
    if let passRows { try changelog.appendAborted(passRows) }
    for operations in passes.dropFirst(passesDone + (passRows == nil ? 0 : 1)) {
      try changelog.appendAborted(rows.rows(operations))
    }
  }

  private func flushStateIfLarge() throws {
    if !connector.writesAtFinish, advance.size >= 5_000 { try writeState() }
  }

  /// Hands the snapshot's advance and the failures gathered so far to the writer, which records
  /// them in one transaction while the run goes on; with `waiting`, records them before returning.
  private func writeState(waiting: Bool = false) throws {
    if !advance.isEmpty {
      try writer.write(advance)
      advance = SnapshotAdvance(copy: copy)
    }
    if waiting { try writer.drain() }
  }

  private func stop(_ reason: String) {
    if stopReason == nil { stopReason = reason }
  }

  private func finish() async {
    do {
      try await connector.finish()
      if connector.writesAtFinish, sweptRecords != nil {
        try writer.drain()
        try ledger.markSwept(syncID: run.syncID)
      }
    } catch {
      // Nothing a destination that writes at the end was given holds: none of it is recorded.
      stop(FailureKind.message(of: error))
      if connector.writesAtFinish {
        failedAtFinish = FailureKind.message(of: error)
        run.failed.add += run.succeeded.add
        run.failed.change += run.succeeded.change
        run.failed.remove += run.succeeded.remove
        run.succeeded = OperationCounts()
        advance.entries.removeAll()
        advance.newEntries.removeAll()
        advance.removedKeys.removeAll()
        sweptRecords = nil
      }
    }
    do {
      try writeState(waiting: true)
    } catch {
      stop("could not record the run in the state store: \(FailureKind.message(of: error))")
    }
    for row in provisional {
      // A destination that writes at the end holds nothing when finishing failed.
      changelog?.append(
        planned: row, columns: mapper.columns, failedAtFinish == nil ? .succeeded : .failed, reason: failedAtFinish)
    }
    if stopReason != nil || cancellation.isRequested {
      do {
        try logAborted()
      } catch {
        changelogError = "could not list the rows the run did not attempt: \(FailureKind.message(of: error))"
      }
    }
    run.aborted = OperationCounts(
      add: run.planned.add - run.succeeded.add - run.failed.add,
      change: run.planned.change - run.succeeded.change - run.failed.change,
      remove: run.planned.remove - run.succeeded.remove - run.failed.remove)
    run.error = stopReason
    // A run whose counts are the rows it read may have left rows unread, counted nowhere, when
    // it stopped before its passes ended: it did not do all its plan.
    let leftRowsUnread = plannedAsRead && passesDone < passes.count
    run.status =
      cancellation.isRequested && (run.aborted.total > 0 || leftRowsUnread) ? .aborted
      : stopReason != nil || run.failed.total > 0 || run.aborted.total > 0 ? .failed : .succeeded
    if skipped.change > 0 { notes.append("\(plural(skipped.change, "changed row")) not sent: \(sync.type.value == .event ? "events are only inserted" : "insert mode ignores changes")") }
    if skipped.remove > 0, sync.type.value == .object, sync.mode.value != .insert, sync.onDelete.value == .nothing {
      notes.append("\(plural(skipped.remove, "removed row")) left in the destination (on_delete: nothing)")
    }
    if let sweptRecords { notes.append("mirror sweep deleted \(plural(sweptRecords, "record")) absent from the model") }
  }
}

extension OperationCounts {
  subscript(operation: SyncRun.PlannedOperation) -> Int {
    get {
      switch operation {
      case .add: add
      case .change: change
      case .remove: remove
      }
    }
    set {
      switch operation {
      case .add: add = newValue
      case .change: change = newValue
      case .remove: remove = newValue
      }
    }
  }
}
