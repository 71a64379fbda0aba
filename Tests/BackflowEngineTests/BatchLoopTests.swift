import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// The batch loop's rules (DESIGN.md, "Semantics") through the engine with a `MemoryDestination`:
/// a real plan of a SQLite warehouse and state in temporary files. Every run is followed by the
/// next one, which must send exactly what the first did not deliver. `SyncRunTests` tries every
/// combination on the run alone, in memory.
@Suite("batch loop")
struct BatchLoopTests {
  typealias Shape = SyncRunTests.Shape

  static let shapes = [Shape(size: 1, concurrency: 1), Shape(size: 3, concurrency: 1), Shape(size: 2, concurrency: 3)]

  // MARK: The snapshot advances only for rows that succeeded

  @Test(arguments: [[], [1], [2, 5], [1, 2, 3, 4, 5, 6, 7]], shapes)
  func theSnapshotAdvancesOnlyForSucceededRowsAndTheNextRunRetriesTheRest(refused: [Int], shape: Shape) async throws {
    let (scenario, memory) = try Self.scenario(users: 7, sync: shape.yaml)
    let delivered = Set(1...7).subtracting(refused)
    for id in refused { memory.refuse(SyncRunTests.email(id), reason: "no such owner") }
    let first = try await scenario.apply().run()
    #expect((first.planned.add, first.attempted.add, first.succeeded.add) == (7, 7, delivered.count))
    #expect((first.failed.add, first.aborted.add) == (refused.count, 0))
    #expect(first.status == (refused.isEmpty ? .succeeded : .failed))
    #expect(try Self.snapshotIDs(scenario) == delivered)
    #expect(Set(memory.records.keys) == Self.storageKeys(delivered))
    let failures = try scenario.openState().failures(runID: first.id)
    #expect(failures.compactMap(\.key).sorted() == refused.map { String($0) }.sorted())
    #expect(failures.allSatisfy { $0.reason == "no such owner" && $0.operation == "add" })

    for id in refused { memory.accept(SyncRunTests.email(id)) }
    memory.resetLog()
    let second = try await scenario.apply().run()
    #expect((second.planned.add, second.succeeded.add, second.status) == (refused.count, refused.count, .succeeded))
    #expect(Self.sentIDs(memory).sorted() == refused.sorted())
    #expect(try Self.snapshotIDs(scenario) == Set(1...7))
  }

  @Test(arguments: shapes)
  func aFailedChangeKeepsTheOldFingerprintAndIsPlannedAgain(shape: Shape) async throws {
    let (scenario, memory) = try Self.scenario(users: 5, sync: shape.yaml)
    try await scenario.apply()
    let before = try scenario.snapshot()
    try scenario.sql("update users set plan = 'pro'")
    memory.refuse(SyncRunTests.email(2))
    let run = try await scenario.apply().run()
    #expect((run.planned.change, run.succeeded.change, run.failed.change) == (5, 4, 1))
    let after = try scenario.snapshot()
    #expect(after.first { $0.key == "2" } == before.first { $0.key == "2" })
    #expect(after.filter { $0.key != "2" }.allSatisfy { entry in before.first { $0.key == entry.key } != entry })
    #expect(memory.records[MemoryDestination.storageKey(SyncRunTests.email(2))]?["tier"] == .string("free"))

    memory.accept(SyncRunTests.email(2))
    memory.resetLog()
    let retry = try await scenario.apply().run()
    #expect((retry.planned.change, retry.succeeded.change) == (1, 1))
    #expect(Self.sentIDs(memory) == [2])
    #expect(memory.records[MemoryDestination.storageKey(SyncRunTests.email(2))]?["tier"] == .string("pro"))
  }

  // MARK: Cancelling, and a batch that throws

  @Test(arguments: [1, 3], [1, 2])
  func cancellingMarksUnsentRowsAbortedAndTheNextRunSendsThem(cancelAtBatch: Int, concurrency: Int) async throws {
    let (scenario, memory) = try Self.scenario(users: 12, sync: "batch: { size: 2, concurrency: \(concurrency) }\n")
    let cancellation = Cancellation()
    memory.onBatch { number in if number == cancelAtBatch { cancellation.request() } }
    memory.delay(.milliseconds(2))
    let first = try await scenario.apply(cancellation: cancellation).run()
    let sent = Self.sentIDs(memory)
    // The batch that asked to stop and those already in flight beside it finish; no other starts.
    #expect(memory.batches.count >= cancelAtBatch && memory.batches.count <= cancelAtBatch + concurrency - 1)
    #expect(first.status == .aborted)
    #expect((first.attempted.add, first.succeeded.add, first.failed.add) == (sent.count, sent.count, 0))
    #expect(first.aborted.add == 12 - sent.count)
    #expect(try Self.snapshotIDs(scenario) == Set(sent))

    memory.onBatch(nil)
    memory.resetLog()
    let second = try await scenario.apply().run()
    #expect((second.planned.add, second.succeeded.add, second.status) == (12 - sent.count, 12 - sent.count, .succeeded))
    #expect(Set(Self.sentIDs(memory)) == Set(1...12).subtracting(sent))
    #expect(Self.sentIDs(memory).count == 12 - sent.count)
    #expect(memory.records.count == 12)
  }

  @Test(arguments: [2], [1, 2])
  func aBatchThatThrowsFailsItsRecordsStopsTheRunAndAbortsTheRest(faultyBatch: Int, concurrency: Int) async throws {
    let (scenario, memory) = try Self.scenario(users: 12, sync: "batch: { size: 2, concurrency: \(concurrency) }\n")
    memory.fail(batch: faultyBatch, message: "connection reset by peer")
    let first = try await scenario.apply().run()
    let delivered = memory.batches.filter { $0.number != faultyBatch }.flatMap(\.keys).compactMap(SyncRunTests.id(of:))
    #expect(first.status == .failed)
    #expect(first.error == "connection reset by peer")
    #expect((first.failed.add, first.succeeded.add) == (2, delivered.count))
    #expect(first.aborted.add == 12 - 2 - delivered.count)
    #expect(first.aborted.add > 0)
    if concurrency == 1 { #expect(memory.batches.map(\.number) == Array(1...faultyBatch)) }
    #expect(try Self.snapshotIDs(scenario) == Set(delivered))
    let failures = try scenario.openState().failures(runID: first.id)
    #expect(failures.count == 2 && failures.allSatisfy { $0.reason == "connection reset by peer" })

    memory.resetLog()
    let second = try await scenario.apply().run()
    #expect((second.planned.add, second.succeeded.add, second.status) == (12 - delivered.count, 12 - delivered.count, .succeeded))
    #expect(Set(Self.sentIDs(memory)) == Set(1...12).subtracting(delivered))
    #expect(try Self.snapshotIDs(scenario) == Set(1...12))
  }

  /// A destination that writes at the end (files) holds nothing when finishing fails.
  @Test(arguments: [false, true])
  func aDestinationThatWritesAtFinishAdvancesTheSnapshotOnlyOnceFinished(finishFails: Bool) async throws {
    let (scenario, memory) = try Self.scenario(users: 4, sync: "batch: { size: 3 }\n")
    memory.writeAtFinish(true)
    memory.failFinish(finishFails ? "disk full" : nil)
    let run = try await scenario.apply().run()
    #expect((run.succeeded.add, run.failed.add) == (finishFails ? (0, 4) : (4, 0)))
    #expect(run.error == (finishFails ? "disk full" : nil))
    #expect(try Self.snapshotIDs(scenario) == (finishFails ? [] : Set(1...4)))
    memory.failFinish(nil)
    #expect(try await scenario.apply().run().planned.add == (finishFails ? 4 : 0))
  }

  // MARK: Mirror's first-run sweep

  enum Trouble: String, CaseIterable, Sendable {
    case none
    case refusedRecord
    case duplicateKey
    case failedBatch
    case cancelled
  }

  @Test(arguments: Trouble.allCases)
  func mirrorsFirstRunSweepsOnlyWhenEveryRowWasSent(trouble: Trouble) async throws {
    let (scenario, memory) = try Self.scenario(users: 6, sync: "mode: mirror\nbatch: { size: 2 }\n")
    memory.put(.string("stranger@example.com"), ["first_name": .string("S")])
    let cancellation = Cancellation()
    switch trouble {
    case .none: break
    case .refusedRecord: memory.refuse(SyncRunTests.email(2))
    case .duplicateKey: try scenario.insert([(3, "u3bis@example.com", "N3", "free")])
    case .failedBatch: memory.fail(batch: 2)
    case .cancelled: memory.onBatch { if $0 == 1 { cancellation.request() } }
    }
    let outcome = try await scenario.apply(cancellation: cancellation).sync()
    let stranger = MemoryDestination.storageKey(.string("stranger@example.com"))
    switch trouble {
    case .none, .refusedRecord:
      #expect(outcome.notes.contains("mirror sweep deleted 1 record absent from the model"))
      #expect(memory.records[stranger] == nil && memory.sweeps == 1)
    case .duplicateKey:
      #expect(
        outcome.notes.contains(
          "mirror's sweep was skipped: 1 row of the model could not be sent, so its records are not all known; fix "
            + "them, then `backflow resync users_to_crm`"))
      #expect(memory.records[stranger] != nil && memory.sweeps == 0)
    case .failedBatch, .cancelled:
      #expect(
        outcome.notes.contains(
          "mirror's sweep was skipped because the run did not send every row; the next full run does it"))
      #expect(memory.records[stranger] != nil && memory.sweeps == 0)
    }
    // The sweep is the first run's only: a later run leaves strangers alone, a resync sweeps again.
    memory.onBatch(nil)
    memory.accept(SyncRunTests.email(2))
    memory.put(.string("late@example.com"))
    let next = try await scenario.apply().run()
    #expect(next.status == (trouble == .duplicateKey ? .failed : .succeeded))
    #expect(memory.records[MemoryDestination.storageKey(.string("late@example.com"))] != nil)
    let swept = trouble == .none || trouble == .refusedRecord
    #expect(memory.sweeps == (swept ? 1 : 0))
    // Which of two rows with one key is sent is the planner's choice; either way the rest are there.
    let model = Set(1...6).subtracting(trouble == .duplicateKey ? [3] : [])
    #expect(Self.storageKeys(model).isSubset(of: Set(memory.records.keys)))
    // A resync sweeps only when the first run's sweep has not been done.
    if trouble == .duplicateKey { try scenario.sql("delete from users where email = 'u3bis@example.com'") }
    try Self.request(.resync, in: scenario)
    let resync = try await scenario.apply().sync()
    #expect(resync.notes.contains { $0.hasPrefix("mirror sweep deleted") } == !swept)
    #expect(memory.sweeps == 1)
    let late = MemoryDestination.storageKey(.string("late@example.com"))
    #expect(Set(memory.records.keys) == Self.storageKeys(Set(1...6)).union(swept ? [late] : []))
  }

  // MARK: Notes, modes, removals, keys

  @Test func resyncClearEmptiesTheDestinationFirstAndSaysSo() async throws {
    let (scenario, memory) = try Self.scenario(users: 3)
    try await scenario.apply()
    memory.put(.string("stranger@example.com"))
    try Self.request(.resyncClear, in: scenario)
    memory.resetLog()
    let outcome = try await scenario.apply().sync()
    #expect(outcome.notes.contains("cleared local/contacts before sending every row"))
    #expect(memory.clears == 1)
    #expect(Set(memory.records.keys) == Self.storageKeys(Set(1...3)))
    #expect(try #require(outcome.run).succeeded.add == 3)
  }

  @Test func resetCDCRecordsTheSnapshotSendsNothingAndSaysSo() async throws {
    let (scenario, memory) = try Self.scenario(users: 4)
    try await scenario.apply()
    try scenario.sql("update users set plan = 'pro' where user_id in (1, 2)")
    try Self.request(.resetCDC, in: scenario)
    memory.resetLog()
    let outcome = try await scenario.apply().sync()
    #expect(outcome.notes.contains("CDC reset: 4 rows recorded in the snapshot, none sent"))
    #expect(memory.batches.isEmpty)
    #expect(try Self.snapshotIDs(scenario) == Set(1...4))
    try scenario.sql("update users set plan = 'team' where user_id = 3")
    let later = try await scenario.apply().run()
    #expect((later.planned.add, later.planned.change) == (0, 1))
    #expect(Self.sentIDs(memory) == [3])
  }

  @Test(arguments: ["type: object\nmode: insert\n", "type: event\n"])
  func changesOfSyncsThatOnlyInsertAreNotSentAndTheRunSaysSo(kind: String) async throws {
    let (scenario, memory) = try Self.scenario(users: 3, sync: kind)
    try await scenario.apply()
    try scenario.sql("update users set plan = 'pro' where user_id in (1, 3)")
    memory.resetLog()
    let outcome = try await scenario.apply().sync()
    let reason = kind.contains("event") ? "events are only inserted" : "insert mode ignores changes"
    #expect(outcome.notes.contains("2 changed rows not sent: \(reason)"))
    #expect(memory.batches.isEmpty)
    let run = try #require(outcome.run)
    #expect((run.planned.change, run.succeeded.change, run.attempted.change) == (2, 2, 0))
    #expect(try await scenario.apply().run().planned.change == 0)
  }

  @Test func updateModeFailsMissingRecordsWithNotFoundAndRetriesThem() async throws {
    let (scenario, memory) = try Self.scenario(users: 5, sync: "mode: update\n")
    memory.put(SyncRunTests.email(1))
    memory.put(SyncRunTests.email(4))
    let first = try await scenario.apply().run()
    #expect((first.succeeded.add, first.failed.add) == (2, 3))
    let failures = try scenario.openState().failures(runID: first.id)
    #expect(failures.compactMap(\.key).sorted() == ["2", "3", "5"])
    #expect(failures.allSatisfy { $0.reason == "not found" })
    #expect(try Self.snapshotIDs(scenario) == [1, 4])
    #expect(memory.records.count == 2)
    #expect(memory.records[MemoryDestination.storageKey(SyncRunTests.email(4))]?["first_name"] == .string("N4"))

    memory.put(SyncRunTests.email(3))
    memory.resetLog()
    let second = try await scenario.apply().run()
    #expect((second.planned.add, second.succeeded.add, second.failed.add) == (3, 1, 2))
    #expect(Self.sentIDs(memory).sorted() == [2, 3, 5])
  }

  typealias OnDelete = SyncRunTests.OnDelete

  @Test(arguments: OnDelete.allCases, [false, true])
  func removedRowsFollowOnDeleteAndAFailedRemovalIsRetried(onDelete: OnDelete, refused: Bool) async throws {
    let (scenario, memory) = try Self.scenario(users: 5, sync: "on_delete: \(onDelete.rawValue)\n")
    try await scenario.apply()
    try scenario.sql("delete from users where user_id in (4, 5)")
    if refused { memory.refuse(SyncRunTests.email(5), reason: "locked") }
    memory.resetLog()
    let outcome = try await scenario.apply().sync()
    let run = try #require(outcome.run)
    let failed = refused && onDelete != .nothing ? 1 : 0
    #expect((run.planned.remove, run.succeeded.remove, run.failed.remove) == (2, 2 - failed, failed))
    let four = memory.records[MemoryDestination.storageKey(SyncRunTests.email(4))]
    switch onDelete {
    case .delete:
      #expect(four == nil)
      #expect(memory.batches.map(\.operation) == [.delete])
    case .clear:
      #expect(four == ["first_name": JSONValue.null, "tier": JSONValue.null])
      #expect(memory.batches.map(\.operation) == [.clearFields])
    case .nothing:
      #expect(four == ["first_name": JSONValue.string("N4"), "tier": JSONValue.string("free")])
      #expect(memory.batches.isEmpty)
      #expect(outcome.notes.contains("2 removed rows left in the destination (on_delete: nothing)"))
    }
    #expect(try Self.snapshotIDs(scenario) == Set(1...3).union(failed == 1 ? [5] : []))

    memory.accept(SyncRunTests.email(5))
    memory.resetLog()
    let retry = try await scenario.apply().run()
    #expect((retry.planned.remove, retry.succeeded.remove) == (failed, failed))
    #expect(Self.sentIDs(memory) == (failed == 1 ? [5] : []))
    if onDelete == .delete { #expect(memory.records.count == 3) }
  }

  @Test(arguments: Self.shapes)
  func duplicateAndNullKeysFailOnceAndNeverReachTheDestination(shape: Shape) async throws {
    let (scenario, memory) = try Self.scenario(users: 4, sync: shape.yaml)
    try scenario.insert([(2, "u2bis@example.com", "N2", "free"), (nil, "nobody@example.com", "No", "free")])
    let first = try await scenario.apply().run()
    #expect((first.planned.add, first.succeeded.add, first.failed.add) == (6, 4, 2))
    let sent = memory.batches.flatMap(\.keys)
    #expect(sent.count == 4)
    #expect(!sent.contains(.string("nobody@example.com")))
    #expect(sent.filter { $0 == SyncRunTests.email(2) || $0 == .string("u2bis@example.com") }.count == 1)
    let reasons = try scenario.openState().failures(runID: first.id).map(\.reason).sorted()
    #expect(reasons == ["duplicate primary key", "primary key is NULL"])

    memory.resetLog()
    let second = try await scenario.apply().run()
    #expect((second.planned.add, second.failed.add, second.succeeded.add) == (2, 2, 0))
    #expect(memory.batches.isEmpty)
  }

  // MARK: Helpers

  /// A scenario of users 1…`users` (`uN@example.com`, first name `NN`, plan `free`) whose sync,
  /// with `sync` added, sends to a memory destination.
  static func scenario(users: Int, sync: String = "") throws -> (Scenario, MemoryDestination) {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + sync])
    try scenario.insert((1...users).map { ($0, "u\($0)@example.com", "N\($0)", "free") })
    let memory = MemoryDestination()
    scenario.memory = memory
    return (scenario, memory)
  }

  static func storageKeys(_ ids: Set<Int>) -> Set<String> {
    Set(ids.map { MemoryDestination.storageKey(SyncRunTests.email($0)) })
  }

  /// The users whose records the destination received, in the order of arrival.
  static func sentIDs(_ memory: MemoryDestination) -> [Int] {
    memory.batches.flatMap(\.keys).compactMap(SyncRunTests.id(of:))
  }

  static func snapshotIDs(_ scenario: Scenario) throws -> Set<Int> {
    Set(try scenario.snapshot().compactMap { Int($0.key) })
  }

  static func request(_ action: PendingRequest.Action, in scenario: Scenario) throws {
    let id = try scenario.syncRecord().id
    try scenario.openState(writing: true).setPending(
      PendingRequest(action: action, requestedBy: "test", requestedAt: "now"), syncID: id)
  }
}
