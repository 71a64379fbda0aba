import BackflowConfig
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow daemon`, started as a process and stopped with a signal, as systemd or Kubernetes would.
@Suite("backflow daemon")
struct DaemonCommandTests {
  /// A running daemon and the file its output goes to.
  final class RunningDaemon {
    let process: Process
    let log: URL

    init(_ scenario: Scenario, _ arguments: [String] = []) throws {
      log = scenario.directory.appendingPathComponent("daemon.log")
      process = try BackflowProcess.start(
        ["daemon"] + arguments, in: scenario.directory, environment: scenario.environment, log: log)
    }

    deinit {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var lines: [String] {
      (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    /// The lines without their leading time.
    var events: [String] {
      lines.map { line in line.split(separator: " ", maxSplits: 1).last.map(String.init) ?? line }
    }

    /// Waits until some line satisfies `predicate`; fails the test after 60 s or when the daemon exits.
    @discardableResult
    func waitFor(_ what: String, _ predicate: (String) -> Bool) -> Bool {
      let deadline = Date().addingTimeInterval(60)
      while Date() < deadline {
        if events.contains(where: predicate) { return true }
        guard process.isRunning else { break }
        usleep(20_000)
      }
      Issue.record("the daemon never logged \(what); it logged:\n\(lines.joined(separator: "\n"))")
      return false
    }

    /// Sends `signal` and waits for the daemon to exit; its exit status.
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
      kill(process.processIdentifier, signal)
      process.waitUntilExit()
      return process.terminationStatus
    }
  }

  /// The scenario's sync on `schedule`, with three users, as `apply --due`'s tests make it.
  func scenario(schedule: String = "{ every: 1h }") throws -> Scenario {
    try ScheduleCommandTests().scenario(schedule: schedule)
  }

  /// A sync of the users into its own table `contacts_NAME` of the CRM, which it creates.
  func other(_ name: String, schedule: String, in scenario: Scenario) throws -> String {
    try scenario.crm("create table contacts_\(name) (email text primary key, tier text)")
    return "model: users\ndestination: local\nobject: contacts_\(name)\nmatch: { email: email }\n"
      + "mappings: [{ from: plan, to: tier }]\nschedule: \(schedule)\n"
  }

  @Test func runsWhatIsDueWithItsFollowersLogsALinePerRunAndStopsCleanlyOnSIGTERM() throws {
    let scenario = try scenario()
    scenario.write([
      "syncs/follower.yaml": try other("b", schedule: "{ after: [users_to_crm] }", in: scenario),
      "syncs/by_hand.yaml": try other("c", schedule: "manual", in: scenario),
    ])
    let daemon = try RunningDaemon(scenario)
    daemon.waitFor("that it waits") { $0.hasPrefix("waiting: ") }
    let status = daemon.stop()
    #expect(status == 0)
    let events = daemon.events
    #expect(events.first == "daemon started: 3 syncs")
    let runs = events.filter { $0.hasPrefix("sync ") }
    #expect(runs.count == 2, "\(events)")
    #expect(runs.first?.hasPrefix("sync users_to_crm (ID ") == true && runs.first?.contains(", run 1): succeeded in ") == true)
    #expect(runs.first?.hasSuffix(" - 3 to add, 0 to change, 0 to remove; 3 succeeded, 0 failed, 0 aborted") == true)
    #expect(runs.last?.hasPrefix("sync follower (ID ") == true && runs.last?.contains(", run 2): succeeded in ") == true)
    // Due an hour after the start of its run, which the state store recorded.
    let run = try #require(try scenario.openState().runs().first { $0.id == 1 })
    let start = try #require(run.startDate)
    let due = start.addingTimeInterval(3600).formatted(.iso8601)
    #expect(events.contains("waiting: users_to_crm due at \(due)"), "\(events)")
    #expect(Array(events.suffix(2)) == [
      "stopping: batches in flight finish and every row is recorded; a second signal quits at once", "daemon stopped",
    ])
    // Every line starts with its time.
    #expect(daemon.lines.allSatisfy { (try? Date($0.prefix(20), strategy: .iso8601)) != nil }, "\(daemon.lines)")
    #expect(try scenario.crmRows("select count(*) from contacts_b") == [["3"]])
    #expect(try scenario.crmRows("select count(*) from contacts_c") == [["0"]])
    let state = try scenario.openState()
    #expect(try state.runs().count == 2 && state.locks().isEmpty)
  }

  @Test func reloadsItsConfigWhenAFileChangesAndKeepsThePreviousOneWhenTheNewOneHasErrors() throws {
    let scenario = try scenario()
    let daemon = try RunningDaemon(scenario)
    daemon.waitFor("that it waits") { $0.hasPrefix("waiting: users_to_crm due at ") }

    scenario.write(["syncs/second.yaml": "model: users\ndestination: local\nobject: contacts_b\nmatch: { email: email }\nmode: upsertt\n"])
    guard daemon.waitFor("the rejected config", { $0.hasPrefix("config not reloaded") }) else { return }
    let rejected = try #require(daemon.events.first { $0.hasPrefix("config not reloaded") })
    #expect(rejected.hasPrefix("config not reloaded, the previous config stays in force: syncs/second.yaml:5:"), "\(rejected)")
    #expect(rejected.contains("upsertt"))

    scenario.write(["syncs/second.yaml": try other("b", schedule: "{ every: 1h }", in: scenario)])
    daemon.waitFor("the reload") { $0 == "config reloaded: 2 syncs" }
    daemon.waitFor("the new sync's run") { $0.hasPrefix("sync second (ID 2, run 2): succeeded in ") }
    // A shorter schedule takes effect at once: the sync is due again.
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "schedule: { every: 1s }\n"])
    daemon.waitFor("a second run of users_to_crm") { $0.hasPrefix("sync users_to_crm (ID 1, run 3): succeeded in ") }
    #expect(daemon.stop() == 0)
    #expect(try scenario.crmRows("select count(*) from contacts_b") == [["3"]])
    // The broken config never ran: second ran once, after its fix.
    #expect(daemon.events.filter { $0.hasPrefix("sync second ") }.count == 1)
  }

  @Test func aSyncThatCannotBePlannedWaitsForItsNextSlotInsteadOfBeingRetriedOnEveryWake() throws {
    let scenario = try scenario()
    scenario.write(["syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: select * from no_such_table\n"])
    let daemon = try RunningDaemon(scenario)
    daemon.waitFor("that it waits") { $0.hasPrefix("waiting: users_to_crm due at ") }
    // Three more ticks: nothing else happens.
    Thread.sleep(forTimeInterval: 3)
    #expect(daemon.stop() == 0)
    let failures = daemon.events.filter { $0.hasPrefix("sync users_to_crm (no ID): error in ") }
    #expect(failures.count == 1, "\(daemon.events)")
    #expect(failures.first?.contains("no_such_table") == true)
    #expect(try scenario.openState().runs().isEmpty)
  }

  @Test func SIGTERMDuringARunFinishesTheBatchesInFlightRecordsEveryRowAndExitsZero() async throws {
    try await withProtocolServer { server in
      let scenario = try Scenario(.sqlite, label: "daemon")
      scenario.write([
        "backflow.yaml":
          "version: 1\nsources:\n  warehouse: { type: sqlite, path: warehouse.db }\ndestinations:\n  api: { type: http, url: \"\(server.url)\" }\n",
        "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: api")
          + "batch: { size: 5 }\nschedule: { every: 1h }\n",
      ])
      try scenario.insert((1...300).map { ($0, "user\($0)@example.com", "User \($0)", "pro") })
      server.inject(.delay(.milliseconds(100)), count: 10_000)
      let daemon = try RunningDaemon(scenario)
      let deadline = Date().addingTimeInterval(60)
      while daemon.process.isRunning, Date() < deadline, server.requests.count < 2 { usleep(10_000) }
      #expect(daemon.stop() == 0)
      let events = daemon.events
      #expect(events.contains("stopping: batches in flight finish and every row is recorded; a second signal quits at once"))
      #expect(events.last == "daemon stopped")
      let run = try #require(try scenario.openState().runs().first)
      #expect(run.status == .aborted)
      let delivered = server.records(in: "contacts").count
      #expect(delivered > 0 && delivered < 300)
      #expect(run.succeeded.add == delivered && run.aborted.add == 300 - delivered)
      #expect(events.contains { $0.hasPrefix("sync users_to_crm (ID 1, run 1): aborted in ") && $0.contains("aborted") })
      // The snapshot holds exactly what arrived: the next apply sends the rest.
      let rest = try await BackflowProcess.output(
        of: ["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment)
      #expect(rest.status == 0, "\(rest.stdout)\(rest.stderr)")
      #expect(rest.stdout.contains(" - \(300 - delivered) to add, 0 to change, 0 to remove"))
      #expect(server.records(in: "contacts").count == 300)
    }
  }

  @Test func anUnreadableStateStoreIsLoggedAndTheDaemonKeepsGoing() throws {
    let scenario = try scenario()
    let daemon = try RunningDaemon(scenario)
    daemon.waitFor("that it waits") { $0.hasPrefix("waiting: ") }
    let state = scenario.directory.appendingPathComponent(".backflow/state.db")
    let saved = scenario.directory.appendingPathComponent("state.saved")
    try FileManager.default.moveItem(at: state, to: saved)
    try Data("not a database, but long enough to have a header page".utf8).write(to: state)
    // A config change wakes it, and it reads state again.
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "schedule: { every: 2h }\n"])
    daemon.waitFor("the state error") { $0.hasPrefix("error: state store: ") && $0.contains("; trying again at ") }
    #expect(daemon.process.isRunning)
    #expect(daemon.stop() == 0)
    #expect(daemon.events.last == "daemon stopped")
  }

  @Test func logsJSONLinesWithLogFormatJSON() throws {
    let scenario = try scenario()
    let daemon = try RunningDaemon(scenario, ["--log-format", "json"])
    daemon.waitFor("that it waits") { $0.contains("\"event\":\"waiting\"") }
    #expect(daemon.stop(SIGINT) == 0)
    let objects = try daemon.lines.map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    }
    #expect(objects.map { $0["event"] as? String } == ["started", "run", "waiting", "stopping", "stopped"])
    let run = objects[1]
    #expect(run["sync"] as? String == "users_to_crm" && run["sync_id"] as? Int == 1 && run["run_id"] as? Int == 1)
    #expect(run["status"] as? String == "succeeded")
    #expect((run["planned"] as? [String: Int]) == ["add": 3, "change": 0, "remove": 0])
    #expect((run["succeeded"] as? [String: Int]) == ["add": 3, "change": 0, "remove": 0])
    #expect(objects[2]["syncs"] as? [String] == ["users_to_crm"])
    #expect(objects.allSatisfy { (try? Date(($0["time"] as? String) ?? "", strategy: .iso8601)) != nil })
    #expect(objects.allSatisfy { $0["format_version"] as? Int == 1 })
  }

  @Test func anInvalidProjectStopsItBeforeItStarts() throws {
    let scenario = try scenario()
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "schedule: { every: 1x }\n"])
    let result = try BackflowProcess.run(["daemon"], in: scenario.directory, environment: scenario.environment)
    #expect(result.status == 1)
    #expect(result.stderr.contains("syncs/users_to_crm.yaml:8:"), "\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }
}
