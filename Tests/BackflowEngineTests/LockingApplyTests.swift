import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Applies that meet a sync's lock: held by this test, by another `backflow apply` process, or
/// left behind by one killed with SIGKILL.
@Suite("locking applies")
struct LockingApplyTests {
  static let ada = LockOwner(operation: "apply", who: "ada@laptop", pid: 4242)

  func engine(_ scenario: Scenario, lockTimeout: Duration = .zero) throws -> Engine {
    let engine = Engine(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState(writing: true))
    engine.lockTimeout = lockTimeout
    return engine
  }

  func hold(_ scenario: Scenario) async throws -> SyncLock {
    try await scenario.openState(writing: true).lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
  }

  @Test(arguments: Backend.allCases)
  func aLockedSyncFailsAloneWithNothingRecordedOrSent(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend, label: "locked")
    scenario.write(["syncs/users_to_archive.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: archive")])
    try scenario.crm("create table archive (email text primary key, first_name text, tier text)")
    try scenario.insert([(1, "a@example.com", "A", "pro"), (2, "b@example.com", "B", "free")])
    let lock = try await hold(scenario)
    let outcomes = try await scenario.apply()
    let locked = try outcomes.sync()
    #expect(
      locked.error
        == "sync users_to_crm is locked by ada@laptop (pid 4242, apply, Backflow test) since \(lock.record.since); "
        + "wait with --lock-timeout, or if that process is gone, `backflow unlock users_to_crm \(lock.record.id)`")
    #expect(locked.run == nil && locked.id == nil)
    #expect(try outcomes.sync("users_to_archive").succeeded)
    #expect(try scenario.openState().syncs().map(\.name) == ["users_to_archive"], "nothing recorded for the locked sync")
    #expect(try scenario.crmRows("select count(*) from contacts") == [["0"]])
    #expect(try scenario.crmRows("select count(*) from archive") == [["2"]])

    lock.release()
    let run = try await scenario.apply().run()
    #expect(run.status == .succeeded && run.succeeded == OperationCounts(add: 2))
    #expect(try scenario.crmRows("select count(*) from contacts") == [["2"]])
    #expect(try scenario.openState().locks().isEmpty, "the apply released its locks")
  }

  @Test(arguments: Backend.allCases)
  func anApplyWaitsForTheLockWithinItsTimeout(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend, label: "wait")
    try scenario.insert([(1, "a@example.com", "A", "pro")])
    _ = try scenario.plan(out: scenario.planFile)
    let lock = try await hold(scenario)
    let releaser = ThreadJob(after: .milliseconds(300)) { lock.release() }
    let outcomes = try await engine(scenario, lockTimeout: .seconds(60)).apply(planFile: scenario.planFile)
    try await releaser.value()
    #expect(try outcomes.sync().succeeded && outcomes.run().succeeded == OperationCounts(add: 1))
    #expect(try scenario.crmRows("select count(*) from contacts") == [["1"]])
  }

  /// The plan was made before the apply that held the lock ran the sync: once the lock is free,
  /// the plan is stale and is not applied.
  @Test(arguments: Backend.allCases)
  func anApplyThatWaitedWhileAnotherRanTheSyncRefusesItsStalePlan(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend, label: "stale")
    try scenario.insert([(1, "a@example.com", "A", "pro")])
    try await scenario.apply()
    try scenario.insert([(2, "b@example.com", "B", "pro")])
    _ = try scenario.plan(out: scenario.planFile)
    let id = try #require(try scenario.openState().syncs().first?.id)
    let lock = try await hold(scenario)
    let location = try #require(StateLocation(try scenario.loadProject().state.value))
    let directory = scenario.directory
    let other = ThreadJob(after: .milliseconds(300)) {
      // What the other apply does to the sync's state while holding the lock.
      try StateStore.open(location, in: directory, writer: "test").setPending(nil, syncID: id)
      lock.release()
    }
    let outcomes = try await engine(scenario, lockTimeout: .seconds(60)).apply(planFile: scenario.planFile)
    try await other.value()
    #expect(
      try outcomes.sync().error?.hasPrefix(
        "sync users_to_crm has changed in state since the plan was made (another apply ran it while this one waited for its lock)")
        == true)
    #expect(try outcomes.sync().run == nil)
    #expect(try scenario.crmRows("select count(*) from contacts") == [["1"]])
    #expect(try scenario.openState().runs(syncID: id).count == 1)
  }

  // MARK: Real processes

  /// A project whose sync sends `users` generated users to `server` in batches of 5, each
  /// answered slowly, so an apply holds its lock for a while.
  func slowHTTPScenario(_ backend: Backend, server: ProtocolServer, users: Int) throws -> Scenario {
    let scenario = try Scenario(backend, label: "slow")
    let warehouse =
      scenario.postgres.map { "state: \($0.url)\nsources:\n  warehouse: { type: postgres, url: \"${WAREHOUSE_URL}\" }\n" }
      ?? "sources:\n  warehouse: { type: sqlite, path: warehouse.db }\n"
    scenario.write([
      "backflow.yaml": "version: 1\n\(warehouse)destinations:\n  api: { type: http, url: \"\(server.url)\" }\n",
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: api")
        + "batch: { size: 5 }\n",
    ])
    try scenario.insert((1...users).map { ($0, "user\($0)@example.com", "User \($0)", $0 % 2 == 0 ? "pro" : "free") })
    server.inject(.delay(.milliseconds(100)), count: 10_000)
    return scenario
  }

  /// Starts `backflow apply --auto-approve` and returns once it holds the lock and has sent a
  /// batch, with the lock it holds.
  func startSlowApply(_ scenario: Scenario, server: ProtocolServer) throws -> (Process, LockRecord) {
    let process = try BackflowProcess.start(
      ["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment, log: slowApplyLog(scenario))
    let deadline = Date().addingTimeInterval(60)
    var lock: LockRecord?
    while process.isRunning, Date() < deadline {
      lock = try scenario.openState().currentLock(syncNamed: "users_to_crm")
      if lock != nil, server.requests.count >= 2 { break }
      usleep(10_000)
    }
    #expect(process.isRunning, "apply finished before the test could meet its lock; make the model bigger")
    return (process, try #require(lock))
  }

  /// Where `startSlowApply`'s process writes its output.
  func slowApplyLog(_ scenario: Scenario) -> URL {
    scenario.directory.appendingPathComponent("slow-apply.log")
  }

  /// The server holds every user exactly once, with the fields the model has.
  func expectDelivered(_ server: ProtocolServer, users: Int) {
    let stored = server.records(in: "contacts")
    #expect(stored.count == users)
    let delivered = Set(stored.map { "\($0.key.rendered(compact: true)) \($0.fields.rendered(compact: true))" })
    let expected = Set((1...users).map { number in
      "\"user\(number)@example.com\" {\"first_name\":\"User \(number)\",\"tier\":\"\(number % 2 == 0 ? "pro" : "free")\"}"
    })
    #expect(delivered == expected)
  }

  @Test(arguments: Backend.allCases)
  func twoConcurrentAppliesRunTheSyncOnceAndTheSecondNamesTheFirst(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer { server in
      let scenario = try slowHTTPScenario(backend, server: server, users: 300)
      let (first, lock) = try startSlowApply(scenario, server: server)
      #expect(lock.pid == Int(first.processIdentifier) && lock.operation == "apply" && lock.backflowVersion == "0.1.0")
      let second = try BackflowProcess.run(["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment)
      await BackflowProcess.exit(of: first)
      #expect(second.status == 1)
      #expect(
        second.stdout.contains(
          "error: sync users_to_crm is locked by \(lock.who) (pid \(first.processIdentifier), apply, Backflow 0.1.0) since \(lock.since); "
            + "wait with --lock-timeout, or if that process is gone, `backflow unlock users_to_crm \(lock.id)`"),
        "\(second.stdout)\(second.stderr)")
      #expect(first.terminationStatus == 0)
      expectDelivered(server, users: 300)
      let state = try scenario.openState()
      let runs = try state.runs()
      #expect(runs.count == 1 && runs.first?.status == .succeeded && runs.first?.succeeded == OperationCounts(add: 300))
      #expect(try state.locks().isEmpty)
    }
  }

  /// `apply --due`, and `apply` making its own plan, lock before they plan: one that waited for
  /// another process's run plans what that run left, instead of failing on a stale plan.
  @Test(arguments: Backend.allCases, [true, false])
  func anApplyThatWaitedForTheLockPlansWhatTheOtherRunLeft(backend: Backend, due: Bool) async throws {
    guard backend.available else { return }
    try await withProtocolServer { server in
      let scenario = try slowHTTPScenario(backend, server: server, users: 300)
      let sync = try String(contentsOf: scenario.directory.appendingPathComponent("syncs/users_to_crm.yaml"), encoding: .utf8)
      scenario.write(["syncs/users_to_crm.yaml": sync + "schedule: { every: 1s }\n"])
      let (first, _) = try startSlowApply(scenario, server: server)
      // Due again one second after the first run started, while that run still holds the lock.
      // Blocking: a `Task.sleep` can wait long past its time for a thread while other tests
      // block the two that every test's tasks share.
      usleep(1_100_000)
      #expect(
        first.isRunning,
        "the first apply finished too soon: \((try? String(contentsOf: slowApplyLog(scenario), encoding: .utf8)) ?? "")")
      let second = try await BackflowProcess.output(
        of: ["apply", due ? "--due" : "--auto-approve", "--lock-timeout", "60s"], in: scenario.directory,
        environment: scenario.environment)
      await BackflowProcess.exit(of: first)
      #expect(first.terminationStatus == 0)
      #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
      if due {
        // A due sync records a run even with nothing to send.
        #expect(second.stdout.contains("users_to_crm (ID 1, run 2): succeeded in ") && second.stdout.contains(" - nothing to send"))
      } else {
        #expect(second.stdout.contains("No changes: the destinations match the models."), "\(second.stdout)")
      }
      expectDelivered(server, users: 300)
      let runs = try scenario.openState().runs()
      #expect(runs.count == (due ? 2 : 1) && runs.allSatisfy { $0.status == .succeeded })
    }
  }

  @Test(arguments: Backend.allCases)
  func aKilledApplysLockIsTakenOverAndItsRunMarkedAborted(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer { server in
      let scenario = try slowHTTPScenario(backend, server: server, users: 200)
      let (process, lock) = try startSlowApply(scenario, server: server)
      let killed = try #require(try scenario.openState().runs().first)
      #expect(killed.status == .running)
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      #expect(try scenario.openState().currentLock(syncNamed: "users_to_crm") == lock, "a killed process leaves its lock row")

      let outcome: SyncOutcome
      if backend == .postgres {
        // The killed session's advisory lock is gone as soon as the server notices; the next apply takes over.
        _ = try scenario.plan(out: scenario.planFile)
        outcome = try await engine(scenario, lockTimeout: .seconds(60)).apply(planFile: scenario.planFile).sync()
        #expect(outcome.notes.contains { $0.hasPrefix("took over the lock of \(lock.who) (pid \(lock.pid), apply since \(lock.since))") })
        #expect(outcome.notes.contains("marked 1 run left running by a stopped process aborted: #\(killed.id)"))
      } else {
        // On SQLite the heartbeat must go stale first: a short limit here stands for the 30 s one.
        let taken = try await scenario.openState(writing: true).lock(
          syncNamed: "users_to_crm", syncID: killed.syncID, owner: Self.ada, timeout: .seconds(60), staleAfter: .seconds(1),
          pollInterval: .milliseconds(100))
        #expect(taken.takenOver == lock && taken.abortedRuns == [killed.id])
        taken.release()
        outcome = try await scenario.apply().sync()
      }
      #expect(outcome.succeeded, "\(outcome)")
      let aborted = try #require(try scenario.openState().run(id: killed.id))
      #expect(aborted.status == .aborted && aborted.finishedAt != nil)
      #expect(
        aborted.error?.hasPrefix("the process running it stopped (\(lock.who), pid \(process.processIdentifier), lock \(lock.id)); ")
          == true, "\(aborted.error ?? "")")
      expectDelivered(server, users: 200)
      #expect(try scenario.openState().locks().isEmpty)
    }
  }
}
