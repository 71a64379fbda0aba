import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// The first run of new syncs, sent while it is planned with no plan file (`applyWhilePlanning`),
/// into a real HTTP server on 127.0.0.1: the snapshot claims only rows that arrived, the run's
/// counts are the rows it read, and the next run, planned the usual way, sends what is missing.
@Suite("apply while planning")
struct StreamedApplyTests {
  let http = HTTPApplyTests()

  /// The snapshot's keys, sorted.
  func snapshotKeys(_ scenario: Scenario) throws -> [String] {
    let state = try scenario.openState()
    let id = try #require(try state.syncs().first?.id)
    let snapshot = try state.snapshot(syncID: id)
    var keys: [String] = []
    while let entry = try snapshot.next() { keys.append(entry.key) }
    return keys.sorted()
  }

  /// The model's keys the server holds a record for, sorted.
  func storedKeys(_ server: ProtocolServer, users: Int) -> [String] {
    (1...users).filter { server.record("user\($0)@example.com", in: "contacts") != nil }.map(String.init).sorted()
  }

  @Test func aNewSyncIsSentAsItIsPlannedAndItsRunCountsTheRowsItRead() async throws {
    try await withProtocolServer { server in
      let scenario = try http.scenario(server: server, users: 20)
      server.reject("user7@example.com", reason: "invalid email domain")
      let applied = try await scenario.applyWhilePlanning()
      let run = try applied.outcomes.run()
      #expect(run.planned == OperationCounts(add: 20) && run.succeeded == OperationCounts(add: 19))
      #expect(run.failed == OperationCounts(add: 1) && run.aborted == OperationCounts() && run.status == .failed)
      // As recorded, not only as returned: the counts are known only once every row was read.
      let recorded = try #require(try scenario.openState().runs(limit: 1).first)
      #expect(recorded.rowsQueried == 20 && recorded.planned == OperationCounts(add: 20))
      #expect(try applied.outcomes.sync().configAction == .create)
      let plan = try #require(applied.plan)
      #expect(try plan.sync().data?.add == 20 && plan.sync().configAction == .create)
      #expect(try snapshotKeys(scenario) == storedKeys(server, users: 20))
      try http.expectDeliveredAsTheSnapshotSays(scenario, server)

      // The sync has run: the next apply plans the usual way and sends only the rejected row.
      let retry = try await scenario.apply().run()
      #expect(retry.planned == OperationCounts(add: 1))
    }
  }

  @Test func aRunStoppedPartWayClaimsOnlyTheRowsThatArrivedAndTheNextRunSendsTheRest() async throws {
    try await withProtocolServer { server in
      let scenario = try http.scenario(server: server, users: 30)
      let cancellation = Cancellation()
      let run = try await scenario.applyWhilePlanning(cancellation: cancellation, observer: CancelAfterFirstBatch(cancellation))
        .outcomes.run()
      #expect(run.status == .aborted && run.succeeded.add > 0 && run.succeeded.add < 30)
      #expect(run.planned.add == run.succeeded.add + run.failed.add + run.aborted.add)
      #expect(try snapshotKeys(scenario) == storedKeys(server, users: 30))
      #expect(try snapshotKeys(scenario).count == run.succeeded.add)

      let rest = try await scenario.apply().run()
      #expect(rest.status == .succeeded && rest.planned == OperationCounts(add: 30 - run.succeeded.add))
      #expect(server.records(in: "contacts").count == 30 && storedKeys(server, users: 30).count == 30)
      try http.expectDeliveredAsTheSnapshotSays(scenario, server)
    }
  }

  @Test func aBatchThatFailsIsNotClaimedAndTheNextRunSendsIt() async throws {
    try await withProtocolServer { server in
      let scenario = try http.scenario(server: server, users: 30)
      // Two batches arrive, then every attempt fails until a batch has used its retries.
      server.inject(.delay(.milliseconds(1)), count: 2)
      server.inject(.unavailable("down for maintenance"), count: 10)
      let run = try await scenario.applyWhilePlanning().outcomes.run()
      #expect(run.status == .failed && run.failed.add >= 3 && run.succeeded.add >= 6)
      #expect(run.planned == OperationCounts(add: 30) && run.planned.add == run.succeeded.add + run.failed.add)
      #expect(try scenario.openState().failures(runID: run.id).allSatisfy { $0.reason == "HTTP 503: down for maintenance" })
      #expect(try snapshotKeys(scenario) == storedKeys(server, users: 30))
      #expect(try snapshotKeys(scenario).count == run.succeeded.add)

      let rest = try await scenario.apply().run()
      #expect(rest.status == .succeeded && rest.planned == OperationCounts(add: run.failed.add))
      #expect(server.records(in: "contacts").count == 30)
      try http.expectDeliveredAsTheSnapshotSays(scenario, server)
    }
  }

  @Test func aSyncWhosePlanFailsBeforeItsFirstRowIsNotApplied() async throws {
    try await withProtocolServer { server in
      let scenario = try http.scenario(server: server, users: 3)
      let file = scenario.directory.appendingPathComponent("syncs/users_to_crm.yaml")
      let sync = try String(contentsOf: file, encoding: .utf8)
      scenario.write(["syncs/users_to_crm.yaml": sync.replacingOccurrences(of: "from: first_name", with: "from: first_nam")])
      let applied = try await scenario.applyWhilePlanning()
      let outcome = try applied.outcomes.sync()
      #expect(outcome.run == nil && outcome.id == nil)
      #expect(outcome.error?.contains("users_to_crm.yaml:6:") == true)
      #expect(outcome.error?.contains("names column \"first_nam\", which model users does not return") == true)
      #expect(try scenario.openState().syncs().isEmpty)
      #expect(server.requests.isEmpty)
    }
  }
}
