import BackflowConnectors
import BackflowSources
import BackflowState
import Foundation
import Testing

@testable import BackflowEngine

/// What the ledger of a copy computed in the warehouse (Spark) hands the warehouse after a run,
/// and when it leaves the copy behind. The warehouse is a recording stand-in here, for the one
/// fault a real Spark cannot be made to show on cue: a write that fails after the run. The SQL it
/// runs is tested on Spark Connect (SparkPlanningTests, SparkPlanningTablesTests).
@Suite("computed planning copy")
struct ComputedPlanningLedgerTests {
  final class RecordingCopy: ComputedPlanningSnapshots {
    var published: [(runID: Int, unsent: [String: Bool], version: WarehouseSnapshotVersion)] = []
    var failure: String?
    var location: String { "schema planner" }

    func publish(
      syncID: Int, syncName: String, runID: Int, unsent: [String: Bool], at version: WarehouseSnapshotVersion,
      keepingStage: Bool
    ) throws {
      if let failure { throw SourceError(failure) }
      published.append((runID, unsent, version))
    }
  }

  let state: StateStore
  let syncID: Int

  init() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    state = try StateStore.open(.sqlite(path: "state.db"), in: directory, writer: "test")
    syncID = try state.register(syncNamed: "users_to_crm")
    try state.updateSnapshot(
      syncID: syncID, entries: [], removedKeys: [],
      newEntries: ["1", "2", "3"].map { SnapshotEntry(key: $0, fingerprint: "f\($0)", matchValue: nil) })
  }

  /// A run that added 4, failed to add 5, failed to change 2 and repeated key 1 (whose planned
  /// row arrived).
  func run(_ ledger: ComputedPlanningLedger, status: RunRecord.Status = .failed, aborted: OperationCounts = .init())
    throws -> RunRecord
  {
    var advance = SnapshotAdvance()
    advance.entries = [SnapshotEntry(key: "1", fingerprint: "g1", matchValue: nil)]
    advance.newEntries = [SnapshotEntry(key: "4", fingerprint: "f4", matchValue: nil)]
    advance.failures = [
      FailedRow(operation: "add", key: "5", reason: "refused"), FailedRow(operation: "change", key: "2", reason: "refused"),
      FailedRow(operation: "add", key: "1", reason: "duplicate primary key"),
      FailedRow(operation: "add", key: nil, reason: "primary key is NULL"),
    ]
    let runID = try state.startRun(syncID: syncID, gitCommit: nil, rowsQueried: 6, planned: OperationCounts(add: 4, change: 2))
    try ledger.record(advance, syncID: syncID, runID: runID)
    return RunRecord(
      id: runID, syncID: syncID, status: status, startedAt: "", gitCommit: nil, rowsQueried: 6,
      planned: OperationCounts(add: 4, change: 2), aborted: aborted)
  }

  @Test func aCompletedRunPublishesTheFailedKeysWithWhetherTheStateStoreHoldsThem() throws {
    let copy = RecordingCopy()
    let ledger = ComputedPlanningLedger(state: state, copy: copy, syncName: "users_to_crm")
    let run = try run(ledger)
    #expect(ledger.finish(run) == nil)
    #expect(copy.published.count == 1)
    #expect(copy.published.first?.runID == run.id)
    #expect(copy.published.first?.unsent == ["1": true, "2": true, "5": false])
    #expect(
      copy.published.first?.version
        == WarehouseSnapshotVersion(lineage: state.lineage ?? "", version: try state.snapshotVersion(syncID: syncID)))
  }

  @Test func aRunThatStoppedEarlyOrAFailedWriteLeavesTheCopyWithANote() throws {
    let copy = RecordingCopy()
    let stopped = ComputedPlanningLedger(state: state, copy: copy, syncName: "users_to_crm")
    let note = stopped.finish(try run(stopped, status: .aborted, aborted: OperationCounts(add: 1)))
    #expect(note?.contains("stopped before every planned row was attempted") == true, "\(note ?? "")")
    #expect(copy.published.isEmpty)

    copy.failure = "the Spark session was closed"
    let failing = ComputedPlanningLedger(state: state, copy: copy, syncName: "users_to_crm")
    let failed = failing.finish(try run(failing))
    #expect(
      failed?.contains("could not write the snapshot copy in schema planner (the Spark session was closed)") == true
        && failed?.contains("the next plan diffs in Backflow") == true, "\(failed ?? "")")
  }

  @Test func tooManyFailedRowsLeaveTheCopyForTheNextApply() throws {
    let copy = RecordingCopy()
    let ledger = ComputedPlanningLedger(state: state, copy: copy, syncName: "users_to_crm")
    var advance = SnapshotAdvance()
    advance.failures = (0...ComputedPlanningLedger.unsentLimit).map { FailedRow(operation: "add", key: "k\($0)", reason: "refused") }
    let runID = try state.startRun(syncID: syncID, gitCommit: nil, rowsQueried: 0, planned: OperationCounts())
    try ledger.record(advance, syncID: syncID, runID: runID)
    let note = ledger.finish(
      RunRecord(id: runID, syncID: syncID, status: .failed, startedAt: "", gitCommit: nil, rowsQueried: 0, planned: OperationCounts()))
    #expect(note?.contains("more than 10000 rows failed") == true, "\(note ?? "")")
    #expect(copy.published.isEmpty)
  }
}
