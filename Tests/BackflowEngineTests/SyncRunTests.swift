import BackflowConfig
import BackflowDestinations
import BackflowEngine
import BackflowPlanner
import BackflowSources
import BackflowState
import BackflowTestSupport
import Synchronization
import Testing

/// The batch loop's rules (DESIGN.md, "Semantics") on `SyncRun` alone: the planned rows
/// (`MemoryPlan`), the state store (`MemoryLedger`) and the destination (`MemoryDestination`) are
/// all in memory, so every combination of outcomes, batch sizes and concurrency is tried.
/// `BatchLoopTests` drives the same rules through the engine, planner and a state file.
@Suite("sync run in memory")
struct SyncRunTests {
  struct Shape: Sendable, CustomTestStringConvertible {
    var size: Int
    var concurrency: Int
    var yaml: String { "batch: { size: \(size), concurrency: \(concurrency) }\n" }
    var testDescription: String { "size \(size), concurrency \(concurrency)" }
  }

  static let shapes = [(1, 1), (2, 1), (4, 1), (6, 1), (1, 3), (2, 2), (4, 3)].map(Shape.init)

  // MARK: The snapshot advances only for rows that succeeded

  /// Users 1–4 are in the snapshot and the destination; the plan changes 1 and 2, removes 3 and 4,
  /// and adds 5 and 6. Every subset of those six rows is refused in turn.
  @Test(arguments: shapes)
  func everySubsetOfRefusedRowsLeavesTheSnapshotHoldingExactlyWhatArrived(shape: Shape) async throws {
    let sync = try Self.sync("on_delete: delete\n" + shape.yaml)
    let plan: [PlannedRow] = [
      .change(Self.user(1, plan: "pro")), .change(Self.user(2, plan: "pro")), .remove(Self.entry(3)),
      .remove(Self.entry(4)), .add(Self.user(5)), .add(Self.user(6)),
    ]
    let operation = [1: "change", 2: "change", 3: "remove", 4: "remove", 5: "add", 6: "add"]
    for mask in 0..<(1 << 6) {
      let refused = Set((1...6).filter { mask & (1 << ($0 - 1)) != 0 })
      let harness = Harness(sync: sync, snapshot: (1...4).map { Self.entry($0) })
      for id in 1...4 { harness.memory.put(Self.email(id), ["tier": .string("free")]) }
      for id in refused { harness.memory.refuse(Self.email(id), reason: "no") }
      let (run, _) = try await harness.run(plan)

      let context = Comment(rawValue: "refused \(refused.sorted())")
      #expect(run.status == (refused.isEmpty ? .succeeded : .failed), context)
      #expect(run.attempted == run.planned && run.aborted == OperationCounts(), context)
      let failed = OperationCounts(
        add: refused.intersection([5, 6]).count, change: refused.intersection([1, 2]).count,
        remove: refused.intersection([3, 4]).count)
      #expect(run.failed == failed, context)
      #expect(run.succeeded.total == 6 - refused.count, context)

      var expected: [String: SnapshotEntry] = [:]
      for id in [1, 2] { expected[String(id)] = Self.entry(id, plan: refused.contains(id) ? "free" : "pro") }
      for id in [3, 4] where refused.contains(id) { expected[String(id)] = Self.entry(id) }
      for id in [5, 6] where !refused.contains(id) { expected[String(id)] = Self.entry(id) }
      #expect(harness.ledger.snapshot == expected, context)
      let failures = harness.ledger.failures
      #expect(failures.map { $0.key ?? "" }.sorted() == refused.map(String.init).sorted(), context)
      #expect(failures.allSatisfy { $0.reason == "no" && $0.operation == operation[Int($0.key ?? "") ?? 0] }, context)

      let batches = harness.memory.batches.sorted { $0.number < $1.number }
      #expect(batches.allSatisfy { $0.keys.count <= shape.size }, context)
      #expect(batches.flatMap(\.keys).map { Self.id(of: $0) ?? 0 }.sorted() == Array(1...6), context)
      // Removals go first: every delete batch is numbered before the first upsert.
      let deletes = batches.filter { $0.operation == .delete }.map(\.number)
      #expect(deletes.allSatisfy { number in batches.filter { $0.operation == .upsert }.allSatisfy { $0.number > number } })
      for id in 1...6 {
        let record = harness.memory.records[MemoryDestination.storageKey(Self.email(id))]
        switch id {
        case 1, 2: #expect(record?["tier"] == .string(refused.contains(id) ? "free" : "pro"), context)
        case 3, 4: #expect((record != nil) == refused.contains(id), context)
        default: #expect((record != nil) == !refused.contains(id), context)
        }
      }
    }
  }

  // MARK: Stopping: a cancel, a batch that throws, a state store that fails

  /// Twelve added rows in six batches of two, cancelled as each batch starts in turn.
  @Test(arguments: 1...3)
  func cancellingAtAnyBatchAbortsWhatWasNotSentAndRecordsWhatWas(concurrency: Int) async throws {
    let sync = try Self.sync("batch: { size: 2, concurrency: \(concurrency) }\n")
    for cancelAt in 1...6 {
      let harness = Harness(sync: sync)
      let cancellation = Cancellation()
      harness.memory.onBatch { if $0 == cancelAt { cancellation.request() } }
      harness.memory.delay(.milliseconds(1))
      let (run, _) = try await harness.run((1...12).map { .add(Self.user($0)) }, cancellation: cancellation)

      let context = Comment(rawValue: "cancelled at batch \(cancelAt)")
      let sent = Set(harness.memory.batches.flatMap(\.keys).compactMap(Self.id(of:)))
      // The batch that asked to stop and those already in flight beside it finish; no other starts.
      #expect(harness.memory.batches.count >= cancelAt, context)
      #expect(harness.memory.batches.count <= min(6, cancelAt + concurrency - 1), context)
      #expect((run.attempted.add, run.succeeded.add, run.failed.add) == (sent.count, sent.count, 0), context)
      #expect(run.aborted.add == 12 - sent.count, context)
      #expect(run.status == (sent.count < 12 ? .aborted : .succeeded), context)
      #expect(Set(harness.ledger.snapshot.keys) == Set(sent.map(String.init)), context)
      #expect(harness.ledger.failures.isEmpty, context)
      #expect(harness.memory.finishes == 1, context)
    }
  }

  @Test(arguments: 1...3)
  func aBatchThatThrowsFailsItsRecordsStopsTheRunAndAbortsTheRest(concurrency: Int) async throws {
    let sync = try Self.sync("batch: { size: 2, concurrency: \(concurrency) }\n")
    for faulty in 1...6 {
      let harness = Harness(sync: sync)
      harness.memory.fail(batch: faulty, message: "connection reset by peer")
      let (run, _) = try await harness.run((1...12).map { .add(Self.user($0)) })

      let context = Comment(rawValue: "batch \(faulty) throws")
      let delivered = harness.memory.batches.filter { $0.number != faulty }.flatMap(\.keys).compactMap(Self.id(of:))
      #expect(run.status == .failed && run.error == "connection reset by peer", context)
      #expect((run.failed.add, run.succeeded.add) == (2, delivered.count), context)
      #expect(run.aborted.add == 12 - 2 - delivered.count, context)
      if concurrency == 1 { #expect(harness.memory.batches.map(\.number) == Array(1...faulty), context) }
      #expect(Set(harness.ledger.snapshot.keys) == Set(delivered.map(String.init)), context)
      let failures = harness.ledger.failures
      #expect(failures.count == 2 && failures.allSatisfy { $0.reason == "connection reset by peer" }, context)
    }
  }

  /// The snapshot is written one batch behind sending: a write that fails stops the run at the
  /// next batch, and the snapshot never claims what it could not record.
  @Test func aStateStoreThatFailsStopsSendingAtTheNextBatch() async throws {
    let harness = Harness(sync: try Self.sync("batch: { size: 2 }\n"))
    harness.ledger.fail("disk I/O error")
    let (run, _) = try await harness.run((1...8).map { .add(Self.user($0)) })
    #expect(run.status == .failed)
    #expect(run.error == "could not record the run in the state store: disk I/O error")
    #expect(harness.memory.batches.map(\.number) == [1, 2])
    #expect((run.attempted.add, run.aborted.add) == (4, 4))
    #expect(harness.ledger.snapshot.isEmpty && harness.ledger.writes == 0)
  }

  @Test func aRefusedPrepareSendsNothingAndAbortsEveryRow() async throws {
    let harness = Harness(sync: try Self.sync())
    harness.memory.failPrepare("table contacts has no unique index on email")
    let (run, _) = try await harness.run([.add(Self.user(1)), .add(Self.user(2)), .remove(Self.entry(3))])
    #expect(run.status == .failed && run.error == "table contacts has no unique index on email")
    #expect(run.attempted.total == 0)
    #expect((run.aborted.add, run.aborted.remove) == (2, 1))
    #expect(harness.memory.batches.isEmpty && harness.memory.finishes == 1)
    #expect(harness.ledger.writes == 0)
  }

  /// A destination that writes at the end (files) holds nothing until it has finished.
  @Test(arguments: [false, true], [1, 3, 5])
  func aDestinationThatWritesAtFinishIsRecordedOnlyOnceFinished(finishFails: Bool, size: Int) async throws {
    let harness = Harness(sync: try Self.sync("batch: { size: \(size) }\n"))
    harness.memory.writeAtFinish(true)
    harness.memory.failFinish(finishFails ? "disk full" : nil)
    let (run, _) = try await harness.run((1...4).map { .add(Self.user($0)) })
    #expect((run.succeeded.add, run.failed.add) == (finishFails ? (0, 4) : (4, 0)))
    #expect(run.error == (finishFails ? "disk full" : nil))
    #expect(Set(harness.ledger.snapshot.keys) == (finishFails ? [] : ["1", "2", "3", "4"]))
    // Written once, after finishing: never batch by batch.
    #expect(harness.ledger.writes == (finishFails ? 0 : 1))
  }

  // MARK: Concurrency and rate

  @Test(arguments: [1, 2, 3, 5])
  func concurrencyIsReachedAndNeverExceeded(concurrency: Int) async throws {
    let harness = Harness(sync: try Self.sync("batch: { size: 1, concurrency: \(concurrency) }\n"))
    harness.memory.holdUntilInFlight(concurrency)
    harness.memory.delay(.milliseconds(2))
    let (run, _) = try await harness.run((1...20).map { .add(Self.user($0)) })
    #expect(run.succeeded.add == 20)
    #expect(harness.memory.batches.count == 20)
    #expect(harness.memory.peakInFlight == concurrency)
  }

  /// A batch is formed only once a slot is free, so at most `concurrency` batches of rows are
  /// held between being read and arriving. Formed first, one more batch waited in memory for its
  /// slot: peak RSS grew with the rows an incremental run sends (issue 22).
  @Test(arguments: [1, 2, 3])
  func rowsAreReadOnlyIntoABatchThatHasASlot(concurrency: Int) async throws {
    let size = 3
    let harness = Harness(sync: try Self.sync("batch: { size: \(size), concurrency: \(concurrency) }\n"))
    harness.memory.holdUntilInFlight(concurrency)
    harness.memory.delay(.milliseconds(50))
    let memory = harness.memory
    let waiting = Mutex<[Int]>([])
    let (run, _) = try await harness.run(
      (1...24).map { .add(Self.user($0)) },
      watching: { read in
        // The destination stores a batch's records before its send returns, so they count as arrived.
        waiting.withLock { $0.append(read - memory.records.count) }
      })
    #expect(run.succeeded.add == 24)
    #expect(harness.memory.peakInFlight == concurrency)
    #expect(waiting.withLock { $0.max() } == concurrency * size)
  }

  /// Arrival times on a virtual clock that moves only when the run waits: the bucket holds one
  /// second's worth (at least one batch), then batches come `1/rate` apart.
  @Test(arguments: ["2/s", "3/s", "30/m", "1/h", nil], [1, 2])
  func rateSpacesBatches(rate: String?, concurrency: Int) async throws {
    let rateLine = rate.map { ", rate: \($0)" } ?? ""
    let clock = VirtualClock()
    let harness = Harness(
      sync: try Self.sync("batch: { size: 1, concurrency: \(concurrency)\(rateLine) }\n"), clock: clock)
    let (run, _) = try await harness.run((1...6).map { .add(Self.user($0)) })
    #expect(run.succeeded.add == 6)
    let perSecond = rate.flatMap(Rate.init)?.perSecond
    let burst = perSecond.map { Int(max(1, $0)) } ?? 6
    let allowed = (1...6).map { number in perSecond.map { Double(max(0, number - burst)) / $0 } ?? 0 }
    let arrivals = harness.memory.batches.sorted { $0.number < $1.number }.map(\.at)
    #expect(arrivals.count == 6)
    for (arrival, earliest) in zip(arrivals, allowed) {
      // One batch at a time arrives exactly when allowed; several may be stamped a wait later.
      if concurrency == 1 { #expect(abs(arrival - earliest) < 1e-9) } else { #expect(arrival >= earliest - 1e-9) }
    }
    #expect(clock.waits.count == 6 - burst)
    #expect(abs(clock.now() - (allowed.last ?? 0)) < 1e-9)
  }

  // MARK: Mirror's sweep

  enum Trouble: String, CaseIterable, Sendable {
    case none
    case refusedRecord
    case rejectedRow
    case failedBatch
    case cancelled
    case stateStoreFails
  }

  @Test(arguments: Trouble.allCases, [1, 2])
  func mirrorsSweepRunsOnlyWhenEveryRowWasSent(trouble: Trouble, concurrency: Int) async throws {
    let harness = Harness(sync: try Self.sync("mode: mirror\nbatch: { size: 2, concurrency: \(concurrency) }\n"))
    harness.memory.put(.string("stranger@example.com"))
    let cancellation = Cancellation()
    var plan: [PlannedRow] = (1...6).map { .add(Self.user($0)) }
    switch trouble {
    case .none: break
    case .refusedRecord: harness.memory.refuse(Self.email(2))
    case .rejectedRow: plan.append(.reject(Self.user(7), .duplicateKey))
    case .failedBatch: harness.memory.fail(batch: 2)
    case .cancelled: harness.memory.onBatch { if $0 == 1 { cancellation.request() } }
    case .stateStoreFails: harness.ledger.fail("disk I/O error")
    }
    let (_, notes) = try await harness.run(plan, sweep: true, cancellation: cancellation)
    let stranger = harness.memory.records[MemoryDestination.storageKey(.string("stranger@example.com"))]
    switch trouble {
    case .none, .refusedRecord:
      // A refused record was sent: the destination knows it, so the sweep can tell it from a stranger.
      #expect(notes.contains("mirror sweep deleted 1 record absent from the model"))
      #expect(stranger == nil && harness.memory.sweeps == 1 && harness.ledger.swept)
    case .rejectedRow:
      #expect(
        notes.contains(
          "mirror's sweep was skipped: 1 row of the model could not be sent, so its records are not all known; fix "
            + "them, then `backflow resync users_to_crm`"))
      #expect(stranger != nil && harness.memory.sweeps == 0 && !harness.ledger.swept)
    case .failedBatch, .cancelled, .stateStoreFails:
      #expect(notes.contains("mirror's sweep was skipped because the run did not send every row; the next full run does it"))
      #expect(stranger != nil && harness.memory.sweeps == 0 && !harness.ledger.swept)
    }
  }

  // MARK: Rows that are not sent

  @Test(arguments: ["type: object\nmode: insert\n", "type: event\n"])
  func changesOfSyncsThatOnlyInsertAreRecordedNotSentAndTheRunSaysSo(kind: String) async throws {
    let harness = Harness(sync: try Self.sync(kind), snapshot: (1...3).map { Self.entry($0) })
    let (run, notes) = try await harness.run([.change(Self.user(1, plan: "pro")), .change(Self.user(3, plan: "pro"))])
    let reason = kind.contains("event") ? "events are only inserted" : "insert mode ignores changes"
    #expect(notes.contains("2 changed rows not sent: \(reason)"))
    #expect(harness.memory.batches.isEmpty)
    #expect((run.planned.change, run.succeeded.change, run.attempted.change, run.status) == (2, 2, 0, .succeeded))
    #expect(harness.ledger.snapshot["1"] == Self.entry(1, plan: "pro"))
    #expect(harness.ledger.snapshot["2"] == Self.entry(2))
  }

  enum OnDelete: String, CaseIterable, Sendable {
    case delete
    case clear
    case nothing
  }

  @Test(arguments: OnDelete.allCases)
  func removedRowsFollowOnDelete(onDelete: OnDelete) async throws {
    let harness = Harness(sync: try Self.sync("on_delete: \(onDelete.rawValue)\n"), snapshot: (1...3).map { Self.entry($0) })
    for id in 1...3 { harness.memory.put(Self.email(id), ["first_name": .string("N\(id)"), "tier": .string("free")]) }
    let (run, notes) = try await harness.run([.remove(Self.entry(2)), .remove(Self.entry(3))])
    #expect((run.succeeded.remove, run.status) == (2, .succeeded))
    #expect(Set(harness.ledger.snapshot.keys) == ["1"])
    let two = harness.memory.records[MemoryDestination.storageKey(Self.email(2))]
    switch onDelete {
    case .delete:
      #expect(two == nil && harness.memory.batches.map(\.operation) == [.delete])
    case .clear:
      #expect(two == ["first_name": .null, "tier": .null] && harness.memory.batches.map(\.operation) == [.clearFields])
    case .nothing:
      #expect(two == ["first_name": .string("N2"), "tier": .string("free")] && harness.memory.batches.isEmpty)
      #expect(notes.contains("2 removed rows left in the destination (on_delete: nothing)"))
    }
  }

  @Test(arguments: shapes)
  func rejectedRowsFailOnceWithTheirReasonAndNeverReachTheDestination(shape: Shape) async throws {
    let harness = Harness(sync: try Self.sync(shape.yaml))
    let nobody = FingerprintedRow(key: nil, fingerprint: "x", values: [.null, .string("nobody@example.com"), .null, .null])
    let plan: [PlannedRow] = [
      .add(Self.user(1)), .reject(Self.user(2), .duplicateKey), .add(Self.user(3)), .reject(nobody, .nullKey),
      .add(Self.user(4)),
    ]
    let (run, _) = try await harness.run(plan)
    #expect((run.planned.add, run.succeeded.add, run.failed.add, run.status) == (5, 3, 2, .failed))
    #expect(run.attempted.add == 3)
    #expect(harness.memory.batches.flatMap(\.keys).compactMap(Self.id(of:)).sorted() == [1, 3, 4])
    #expect(harness.ledger.failures.map(\.reason).sorted() == ["duplicate primary key", "primary key is NULL"])
    #expect(Set(harness.ledger.snapshot.keys) == ["1", "3", "4"])
  }

  /// A CDC reset's rows are recorded into the snapshot as they are read, in chunks, never sent.
  @Test func recordedRowsEnterTheSnapshotWithoutBeingSent() async throws {
    let harness = Harness(sync: try Self.sync())
    let (run, _) = try await harness.run((1...12_000).map { .record(Self.user($0)) })
    #expect(run.status == .succeeded && run.planned.total == 0)
    #expect(harness.memory.batches.isEmpty)
    #expect(harness.ledger.snapshot.count == 12_000)
    #expect(harness.ledger.snapshot["11999"] == Self.entry(11_999))
    // 5,000 entries per transaction while reading, the rest at the end.
    #expect(harness.ledger.writes == 3)
  }

  // MARK: Helpers

  /// One run's world in memory: a destination, a state store's ledger and, for rates, a clock.
  final class Harness {
    let sync: Sync
    let clock: VirtualClock?
    let memory: MemoryDestination
    let ledger: MemoryLedger

    init(sync: Sync, snapshot: [SnapshotEntry] = [], clock: VirtualClock? = nil) {
      self.sync = sync
      self.clock = clock
      memory = MemoryDestination(now: { clock?.now() ?? 0 })
      ledger = MemoryLedger(snapshot: snapshot)
    }

    /// `watching` is told, as each row is read, how many rows have been read.
    func run(
      _ rows: [PlannedRow], sweep: Bool = false, cancellation: Cancellation = Cancellation(),
      watching: (@Sendable (Int) -> Void)? = nil
    ) async throws -> (run: RunRecord, notes: [String]) {
      var planned = OperationCounts()
      for row in rows {
        switch row {
        case .add, .reject: planned.add += 1
        case .change: planned.change += 1
        case .remove: planned.remove += 1
        case .record, .unchanged: break
        }
      }
      let run = RunRecord(
        id: 1, syncID: 1, status: .running, startedAt: "", gitCommit: nil, rowsQueried: rows.count, planned: planned)
      let target = DestinationTarget(
        syncName: sync.name.value, syncID: 1, runID: 1, type: sync.type.value, mode: sync.mode.value,
        object: sync.object.value, matchField: sync.match?.field.value, fields: sync.mappings.map(\.to.value),
        concurrency: sync.batch.concurrency.value)
      let plan = WatchedPlan(plan: MemoryPlan(columns: SyncRunTests.columns, rows: rows), watching: watching)
      let syncRun = try SyncRun(
        sync: sync, run: run, rows: plan, sweep: sweep,
        connector: memory.connector(for: target), ledger: ledger, cancellation: cancellation,
        clock: clock ?? VirtualClock())
      let finished = await syncRun.execute()
      return (finished, syncRun.notes)
    }
  }

  /// A plan that tells `watching`, as each row is read, how many rows have been read.
  struct WatchedPlan: PlannedRowSource {
    let plan: MemoryPlan
    let watching: (@Sendable (Int) -> Void)?

    func rows(_ operations: [String]) throws -> any PlannedRowReader {
      let rows = try plan.rows(operations)
      guard let watching else { return rows }
      return Reader(rows: rows, watching: watching)
    }

    private final class Reader: PlannedRowReader {
      let rows: any PlannedRowReader
      let watching: @Sendable (Int) -> Void
      private var read = 0

      init(rows: any PlannedRowReader, watching: @escaping @Sendable (Int) -> Void) {
        self.rows = rows
        self.watching = watching
      }

      var columns: [String] { rows.columns }

      func next() throws -> PlannedRow? {
        guard let row = try rows.next() else { return nil }
        read += 1
        watching(read)
        return row
      }
    }
  }

  static let columns = ["user_id", "email", "first_name", "plan"]

  /// The users sync of `Scenario.sync`, with `extra` added, as `backflow validate` loads it.
  static func sync(_ extra: String = "") throws -> Sync {
    let loaded = ProjectFixture.load([
      "syncs/users_to_crm.yaml": Scenario.sync + extra,
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: select user_id, email, first_name, plan from users\n",
    ])
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    return try #require(loaded.project.syncs.first { $0.name.value == "users_to_crm" })
  }

  /// User `id` (`uID@example.com`, first name `NID`) on `plan`, as the planner gives it.
  static func user(_ id: Int, plan: String = "free") -> FingerprintedRow {
    FingerprintedRow(
      key: String(id), fingerprint: "\(id):\(plan)",
      values: [.integer(Int64(id)), .string("u\(id)@example.com"), .string("N\(id)"), .string(plan)])
  }

  /// User `id`'s snapshot entry as a run that delivered `user(id, plan:)` records it.
  static func entry(_ id: Int, plan: String = "free") -> SnapshotEntry {
    SnapshotEntry(key: String(id), fingerprint: "\(id):\(plan)", matchValue: email(id).rendered(compact: true))
  }

  static func email(_ id: Int) -> JSONValue { .string("u\(id)@example.com") }

  static func id(of key: JSONValue) -> Int? {
    guard case let .string(text) = key, text.hasPrefix("u"), text.hasSuffix("@example.com") else { return nil }
    return Int(text.dropFirst().dropLast("@example.com".count))
  }
}
