import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `apply --due` as a library: which syncs are due, the order they run in, followers skipped after
/// a failure (pure), and real runs on SQLite and PostgreSQL where each sync reads what its leaders
/// wrote.
@Suite("apply --due")
struct DueRunTests {
  // MARK: Which syncs are due (pure)

  static func sync(_ schedule: String, enabled: Bool = true) -> String {
    "model: users\ndestination: local\nobject: contacts\nmatch: { email: email }\nschedule: \(schedule)\n"
      + (enabled ? "" : "enabled: false\n")
  }

  func project(_ syncs: [String: String]) throws -> Project {
    var files: [String: String] = [:]
    for (name, text) in syncs { files["syncs/\(name).yaml"] = text }
    let loaded = ProjectFixture.load(files)
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.sorted)")
    return loaded.project
  }

  @Test func dueSyncsTheirFollowersTransitivelyAndNothingElse() throws {
    let project = try project([
      "hourly": Self.sync("{ every: 1h }"), "nightly": Self.sync("{ cron: \"0 3 * * *\" }"),
      "fresh": Self.sync("{ every: 1d }"), "manual": Self.sync("manual"),
      "paused": Self.sync("{ every: 1m }", enabled: false),
      "b": Self.sync("{ after: [hourly] }"), "c": Self.sync("{ after: [b] }"),
      "of_paused": Self.sync("{ after: [paused] }"), "of_nightly": Self.sync("{ after: [nightly] }"),
      "both": Self.sync("{ after: [hourly, nightly] }"),
    ])
    let now = try Date("2024-05-01T12:00:00Z", strategy: .iso8601)
    let schedule = DueSchedule(
      project: project,
      lastRuns: [
        "hourly": now.addingTimeInterval(-3_600), "nightly": now.addingTimeInterval(-3_600),
        "manual": now.addingTimeInterval(-86_400 * 30),
      ],
      now: now)
    // `fresh` never ran, so it is due; nightly ran at 11:00 and is next due at 03:00.
    #expect(schedule.due == ["fresh", "hourly"])
    #expect(schedule.followers == ["b", "both", "c"])
    // `both` waits only for the leader that is part of this invocation.
    #expect(schedule.order.leaders["both"] == ["hourly"])
    #expect(schedule.order.levels == [["fresh", "hourly"], ["b", "both"], ["c"]])

    let later = DueSchedule(project: project, lastRuns: ["hourly": now, "nightly": now, "fresh": now], now: now)
    #expect(later.isEmpty && later.order.syncs.isEmpty)
  }

  @Test func theNextWakeIsTheEarliestTimeDrivenSyncAndTiesAreListedTogether() throws {
    let project = try project([
      "hourly": Self.sync("{ every: 1h }"), "nightly": Self.sync("{ cron: \"0 3 * * *\" }"),
      "also_hourly": Self.sync("{ every: 30m }"), "manual": Self.sync("manual"),
      "paused": Self.sync("{ every: 1m }", enabled: false), "b": Self.sync("{ after: [hourly] }"),
    ])
    let now = try Date("2024-05-01T12:00:00Z", strategy: .iso8601)
    let ran = ["hourly": now, "nightly": now, "also_hourly": now.addingTimeInterval(1_800), "manual": now]
    let next = try #require(DueSchedule.next(project: project, lastRuns: ran))
    #expect(next.date == now.addingTimeInterval(3_600) && next.syncs == ["also_hourly", "hourly"])
    // Without the hourly ones, the cron's next slot.
    let nightly = DueSchedule.next(project: project, lastRuns: ran.merging(["hourly": now.addingTimeInterval(86_400), "also_hourly": now.addingTimeInterval(86_400)]) { $1 })
    #expect(nightly?.date == (try Date("2024-05-02T03:00:00Z", strategy: .iso8601)) && nightly?.syncs == ["nightly"])
    // A sync that never ran comes first.
    #expect(DueSchedule.next(project: project, lastRuns: ["hourly": now, "nightly": now])?.syncs == ["also_hourly"])
    #expect(DueSchedule.next(project: project, lastRuns: ["hourly": now, "nightly": now])?.date == .distantPast)
    // Manual, followers and disabled syncs never wake the daemon.
    let untimed = try self.project(["manual": Self.sync("manual"), "b": Self.sync("{ after: [manual] }"), "paused": Self.sync("{ every: 1m }", enabled: false)])
    #expect(DueSchedule.next(project: untimed, lastRuns: [:]) == nil)
  }

  // MARK: Order and skipping (pure)

  @Test func aChainRunsOneLevelAtATime() {
    var order = DueRunOrder(syncs: ["a", "b", "c"], leaders: ["b": ["a"], "c": ["b"]])
    #expect(order.levels == [["a"], ["b"], ["c"]])
    #expect(order.start(parallel: 4) == ["a"])
    #expect(order.start(parallel: 4).isEmpty)
    #expect(order.finish("a", succeeded: true).isEmpty)
    #expect(order.start(parallel: 4) == ["b"])
    _ = order.finish("b", succeeded: true)
    #expect(order.start(parallel: 4) == ["c"])
    #expect(!order.isFinished)
    _ = order.finish("c", succeeded: true)
    #expect(order.isFinished)
  }

  @Test func aDiamondRunsItsSidesTogetherUpToParallel() {
    let leaders = ["b": ["a"], "c": ["a"], "d": ["b", "c"]]
    #expect(DueRunOrder(syncs: ["a", "b", "c", "d"], leaders: leaders).levels == [["a"], ["b", "c"], ["d"]])
    var order = DueRunOrder(syncs: ["a", "b", "c", "d"], leaders: leaders)
    #expect(order.start(parallel: 1) == ["a"])
    _ = order.finish("a", succeeded: true)
    #expect(order.start(parallel: 1) == ["b"])
    // d waits for c even though b is done.
    _ = order.finish("b", succeeded: true)
    #expect(order.start(parallel: 1) == ["c"])
    #expect(order.start(parallel: 1).isEmpty)
    _ = order.finish("c", succeeded: true)
    #expect(order.start(parallel: 1) == ["d"])

    var wide = DueRunOrder(syncs: ["a", "b", "c", "d", "e", "f"], leaders: [:])
    #expect(wide.start(parallel: 2) == ["a", "b"])
    #expect(wide.running == 2)
    _ = wide.finish("b", succeeded: false)
    #expect(wide.start(parallel: 2) == ["c"])
  }

  @Test func aFailureSkipsFollowersTransitivelyUnlessTheyRunAfterFailure() {
    let leaders = ["b": ["a"], "c": ["b"], "d": ["a"], "e": ["d"]]
    var order = DueRunOrder(syncs: ["a", "b", "c", "d", "e"], leaders: leaders, onFailure: ["d": .run, "e": .run])
    #expect(order.start(parallel: 5) == ["a"])
    let skipped = order.finish("a", succeeded: false)
    #expect(skipped == [.init(name: "b", reason: "a failed"), .init(name: "c", reason: "b was skipped")])
    #expect(order.start(parallel: 5) == ["d"])
    // A follower with after_failure: run still needs its leader to have run.
    var failed = order
    #expect(failed.finish("d", succeeded: false).isEmpty)
    #expect(failed.start(parallel: 5) == ["e"])
    var stopped = DueRunOrder(syncs: ["a", "b", "c", "d", "e"], leaders: leaders, onFailure: ["d": .run, "e": .run])
    _ = stopped.start(parallel: 5)
    #expect(stopped.stop(because: "the apply was stopped").map(\.name) == ["b", "c", "d", "e"])
    #expect(!stopped.isFinished)
    _ = stopped.finish("a", succeeded: true)
    #expect(stopped.isFinished && stopped.start(parallel: 5).isEmpty)
  }

  @Test func aSkippedLeaderSkipsEvenFollowersThatRunAfterFailure() {
    var order = DueRunOrder(syncs: ["a", "b", "c"], leaders: ["b": ["a"], "c": ["b"]], onFailure: ["c": .run])
    _ = order.start(parallel: 1)
    #expect(order.finish("a", succeeded: false).map(\.name) == ["b", "c"])
    #expect(order.states["c"] == .skipped("b was skipped"))
  }

  // MARK: Real runs

  /// A scenario whose CRM is also a source, with syncs that copy each other's tables, so a sync
  /// that ran before its leaders would find fewer rows.
  func copyingScenario(_ backend: Backend, syncs: [String: String], users: Int = 4) throws -> Scenario {
    let scenario = try Scenario(backend)
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    scenario.write([
      "backflow.yaml": project.replacingOccurrences(of: "sources:\n", with: "sources:\n  crm: { type: sqlite, path: crm.db }\n"),
    ])
    try scenario.remove("syncs/users_to_crm.yaml")
    var files: [String: String] = [:]
    for (name, text) in syncs { files["syncs/\(name).yaml"] = text }
    scenario.write(files)
    try scenario.crm(
      (["b", "c", "d"].map { "create table contacts_\($0) (email text primary key, tier text);" }).joined(separator: "\n"))
    try scenario.insert((1...users).map { ($0, "user\($0)@example.com", "User \($0)", $0 == 2 ? "x" : "pro") })
    return scenario
  }

  /// A sync of `query` on the CRM into `contacts_NAME`.
  static func copy(_ name: String, _ query: String, after leaders: [String], onFailure: String? = nil) -> String {
    """
    model: { source: crm, primary_key: email, query: "\(query)" }
    destination: local
    object: contacts_\(name)
    match: { email: email }
    mappings: [{ from: tier, to: tier }]
    schedule: { after: [\(leaders.joined(separator: ", "))]\(onFailure.map { ", after_failure: \($0)" } ?? "") }

    """
  }

  func runDue(_ scenario: Scenario, parallel: Int) async throws -> (DueSchedule, DueRunner.Result) {
    let project = try scenario.loadProject()
    let state = try scenario.openState(writing: true)
    let schedule = DueSchedule(project: project, lastRuns: try state.lastRuns().compactMapValues(\.startDate), now: Date())
    let location = try #require(StateLocation(project.state.value))
    let runner = DueRunner(
      project: project, directory: scenario.directory, state: location, commit: nil, backflowVersion: "test",
      parallel: parallel)
    return (schedule, await runner.run(schedule.order))
  }

  func runIDs(_ result: DueRunner.Result) throws -> [String: Int] {
    Dictionary(uniqueKeysWithValues: try result.outcomes.map { ($0.name, try #require($0.run?.id)) })
  }

  @Test(arguments: Backend.allCases)
  func aDiamondRunsInDependencyOrderAndTheSecondInvocationRunsNothing(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try copyingScenario(
      backend,
      syncs: [
        "a": Scenario.sync + "schedule: { every: 1h }\n",
        "b": Self.copy("b", "select email, tier from contacts", after: ["a"]),
        "c": Self.copy("c", "select email, tier from contacts", after: ["a"]),
        "d": Self.copy("d", "select b.email, c.tier from contacts_b b join contacts_c c using (email)", after: ["b", "c"]),
      ])
    let (schedule, result) = try await runDue(scenario, parallel: 2)
    #expect(schedule.due == ["a"] && schedule.followers == ["b", "c", "d"])
    #expect(result.succeeded && result.skipped.isEmpty, "\(result.outcomes.map { "\($0.name): \($0.error ?? "")" })")
    let ids = try runIDs(result)
    let (a, b, c, d) = (try #require(ids["a"]), try #require(ids["b"]), try #require(ids["c"]), try #require(ids["d"]))
    #expect(a < b && a < c && b < d && c < d)
    // d saw every row b and c copied from a.
    #expect(try scenario.crmRows("select count(*) from contacts_d") == [["4"]])
    #expect(try result.outcomes.first { $0.name == "d" }?.run?.succeeded.add == 4)

    let (again, second) = try await runDue(scenario, parallel: 2)
    #expect(again.isEmpty && second.outcomes.isEmpty)
    #expect(try scenario.openState().runs().count == 4)
  }

  @Test(arguments: ["skip", "run"])
  func aFailingLeaderSkipsItsFollowerUnlessAfterFailureIsRun(onFailure: String) async throws {
    let scenario = try copyingScenario(
      .sqlite,
      syncs: [
        "a": Scenario.sync + "schedule: { every: 1h }\n",
        "b": Self.copy("b", "select email, tier from contacts", after: ["a"], onFailure: onFailure),
        "c": Self.copy("c", "select email, tier from contacts_b", after: ["b"]),
      ])
    // The CRM refuses user 2's tier, so a's run fails with one failed row.
    try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'x'))")
    let (_, result) = try await runDue(scenario, parallel: 1)
    #expect(!result.succeeded)
    #expect(result.outcomes.first?.name == "a" && result.outcomes.first?.run?.status == .failed)
    if onFailure == "skip" {
      #expect(result.outcomes.map(\.name) == ["a"])
      #expect(result.skipped == [.init(name: "b", reason: "a failed"), .init(name: "c", reason: "b was skipped")])
      #expect(try scenario.crmRows("select count(*) from contacts_b") == [["0"]])
    } else {
      #expect(result.outcomes.map(\.name) == ["a", "b", "c"] && result.skipped.isEmpty)
      #expect(try scenario.crmRows("select count(*) from contacts_b") == [["3"]])
      #expect(try scenario.crmRows("select count(*) from contacts_c") == [["3"]])
    }
  }

  @Test func twoIndependentSyncsRunInParallelEachWithItsOwnRun() async throws {
    let scenario = try copyingScenario(
      .sqlite,
      syncs: [
        "a": Scenario.sync + "schedule: { every: 1h }\n",
        "b": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts_b")
          .replacingOccurrences(of: "  - { from: first_name, to: first_name }\n", with: "") + "schedule: { every: 1h }\n",
      ])
    let (schedule, result) = try await runDue(scenario, parallel: 2)
    #expect(schedule.order.levels == [["a", "b"]])
    #expect(result.succeeded, "\(result.outcomes.map { "\($0.name): \($0.error ?? "")" })")
    #expect(Set(result.outcomes.map(\.name)) == ["a", "b"])
    let runs = try scenario.openState().runs()
    #expect(runs.count == 2 && runs.allSatisfy { $0.status == .succeeded && $0.succeeded.add == 4 })
    #expect(try scenario.crmRows("select count(*) from contacts") == [["4"]])
    #expect(try scenario.crmRows("select count(*) from contacts_b") == [["4"]])
  }
}
