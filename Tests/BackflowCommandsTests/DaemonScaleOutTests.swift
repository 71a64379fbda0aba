import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Several `backflow daemon` processes on one PostgreSQL state store divide the due syncs.
@Suite("daemons sharing a state store", .enabled(if: TestEnvironment.postgresURL != nil))
struct DaemonScaleOutTests {
  static let syncs = ["a", "b", "c", "d"]
  static let users = 40
  /// Long enough for the ISSUE's "at least 30 seconds of short schedules".
  static let runFor: TimeInterval = 32
  /// The model stops changing this long before the end, so that the last due runs catch up.
  static let changesStopAt: TimeInterval = 20

  /// Three daemons started together on an empty state store; one is killed in the middle of a
  /// run. Every due run happens in one daemon, none overlaps another of its sync, no daemon logs
  /// another's lock as an error, the killed run is recorded aborted, and its rows arrive.
  @Test func threeDaemonsDivideTheDueSyncsAndOutliveAKilledOne() async throws {
    try await onThreadOfItsOwn { try Self.threeDaemons() }
  }

  static func threeDaemons() throws {
    let scenario = try Scenario(.postgres)
    let warehouse = try #require(scenario.postgres)
    try scenario.insert((1...users).map { ($0, "user\($0)@example.com", "User \($0)", "free") })
    try scenario.remove("syncs/users_to_crm.yaml")
    for name in syncs {
      try scenario.crm("create table contacts_\(name) (email text primary key, tier text)")
      // One row per batch at 8 batches a second: a first run takes about five seconds.
      scenario.write([
        "syncs/sync_\(name).yaml": "model: users\ndestination: local\nobject: contacts_\(name)\nmatch: { email: email }\n"
          + "mappings: [{ from: plan, to: tier }]\nschedule: { every: 3s }\nbatch: { size: 1, rate: 8/s }\n"
      ])
    }
    let started = Date()
    let daemons = try (1...3).map { index in
      try BackflowProcess.start(
        ["daemon"], in: scenario.directory, environment: scenario.environment,
        log: scenario.directory.appendingPathComponent("daemon-\(index).log"))
    }
    defer { for daemon in daemons where daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }

    // The model keeps changing, so later runs have rows to send too; meanwhile one daemon is
    // killed as soon as it is seen in the middle of a run.
    var victim: (pid: Int32, syncID: Int, runID: Int)?
    var lastChange = Date.distantPast
    var round = 0
    while Date().timeIntervalSince(started) < runFor {
      if Date().timeIntervalSince(started) < changesStopAt, Date().timeIntervalSince(lastChange) >= 1 {
        round += 1
        lastChange = Date()
        try warehouse.connect().execute("update users set plan = 'plan \(round)' where user_id % 4 = \(round % 4)")
      }
      if victim == nil { victim = killMidRun(daemons, scenario: scenario) }
      Thread.sleep(forTimeInterval: 0.05)
    }
    let killed = try #require(victim, "no daemon was ever seen in the middle of a run")
    let survivors = daemons.filter { $0.processIdentifier != killed.pid }
    for daemon in survivors { kill(daemon.processIdentifier, SIGTERM) }
    for daemon in survivors { daemon.waitUntilExit() }

    for (index, daemon) in survivors.enumerated() {
      #expect(daemon.terminationStatus == 0, "daemon \(index) exited \(daemon.terminationStatus)")
    }
    // No daemon reports another daemon's lock, a stale plan or the schema race as an error.
    for index in 1...3 {
      let log = try String(contentsOf: scenario.directory.appendingPathComponent("daemon-\(index).log"), encoding: .utf8)
      #expect(log.contains("daemon started: 4 syncs"), "daemon \(index):\n\(log)")
      for line in log.split(separator: "\n") {
        #expect(!line.contains("error") && !line.contains("): failed"), "daemon \(index): \(line)")
      }
    }

    let state = try scenario.openState()
    let runs = try state.runs(limit: 10_000)
    #expect(runs.filter { $0.status == .running }.isEmpty, "\(runs)")
    let aborted = runs.filter { $0.status == .aborted }
    #expect(aborted.count == 1 && aborted.first?.syncID == killed.syncID, "\(aborted)")
    for record in try state.syncs() {
      let ordered = runs.filter { $0.syncID == record.id }.sorted { $0.id < $1.id }
      #expect(ordered.count >= 3, "sync \(record.name) ran \(ordered.count) times")
      for (earlier, later) in zip(ordered, ordered.dropFirst()) {
        // No run of a sync overlaps another: each starts once the one before has ended.
        let end = try #require(earlier.finishedAt)
        #expect(end <= later.startedAt, "sync \(record.name): run \(earlier.id) ended \(end), run \(later.id) started \(later.startedAt)")
        // One run per due slot: the next starts a whole interval (less the seconds state drops) later.
        let gap = try #require(later.startDate).timeIntervalSince(try #require(earlier.startDate))
        #expect(gap >= 2, "sync \(record.name): runs \(earlier.id) and \(later.id) started \(gap)s apart")
      }
    }
    // The killed run's sync ran again, in another daemon, and every destination equals the model.
    #expect(runs.contains { $0.syncID == killed.syncID && $0.id > killed.runID && $0.status == .succeeded })
    let model = try warehouse.connect().query("select email, plan from users order by email")
    for name in syncs {
      #expect(try scenario.crmRows("select email, tier from contacts_\(name) order by email") == model, "contacts_\(name)")
    }
  }

  /// Kills the daemon that holds a sync's lock while its run has rows to send, if one does now.
  static func killMidRun(_ daemons: [Process], scenario: Scenario) -> (pid: Int32, syncID: Int, runID: Int)? {
    let pids = Set(daemons.map(\.processIdentifier))
    guard let state = try? scenario.openState(), let locks = try? state.locks(), let syncs = try? state.syncs(),
      let runs = try? state.runs(limit: 100)
    else { return nil }
    for lock in locks where pids.contains(Int32(lock.pid)) {
      guard let id = syncs.first(where: { $0.name == lock.syncName })?.id,
        let run = runs.first(where: { $0.syncID == id && $0.status == .running && $0.planned.total > 0 })
      else { continue }
      kill(Int32(lock.pid), SIGKILL)
      return (Int32(lock.pid), id, run.id)
    }
    return nil
  }
}
