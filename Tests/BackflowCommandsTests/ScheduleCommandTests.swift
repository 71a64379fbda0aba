import BackflowConfig
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow schedule` and `backflow apply --due`, run as a scheduler runs them.
@Suite("backflow schedule and apply --due")
struct ScheduleCommandTests {
  func backflow(_ arguments: [String], _ scenario: Scenario) throws -> BackflowProcess.Output {
    try BackflowProcess.run(arguments, in: scenario.directory, environment: scenario.environment)
  }

  /// The scenario's sync on `schedule`, plus `others` (name → sync file).
  func scenario(schedule: String = "{ every: 1h }", others: [String: String] = [:]) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "schedule: \(schedule)\n"])
    scenario.write(Dictionary(uniqueKeysWithValues: others.map { ("syncs/\($0.key).yaml", $0.value) }))
    try scenario.insert((1...3).map { ($0, "user\($0)@example.com", "User \($0)", "pro") })
    return scenario
  }

  /// A sync into its own table `contacts_NAME` of the CRM.
  func other(_ name: String, schedule: String, extra: String = "") throws -> String {
    "model: users\ndestination: local\nobject: contacts_\(name)\nmatch: { email: email }\n"
      + "mappings: [{ from: plan, to: tier }]\nschedule: \(schedule)\n\(extra)"
  }

  @Test func dueTwiceInARowRunsOnlyTheFirstTime() throws {
    let scenario = try scenario()
    let first = try backflow(["apply", "--due"], scenario)
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    #expect(first.stdout.hasPrefix("Due: users_to_crm\n"))
    #expect(first.stdout.contains("users_to_crm (ID 1, run 1): succeeded in "))
    #expect(first.stdout.contains(" - 3 to add, 0 to change, 0 to remove; 3 succeeded\n"))
    #expect(first.stdout.hasSuffix("Apply complete: 1 sync succeeded.\n"))
    #expect(try scenario.crmRows("select count(*) from contacts") == [["3"]])

    let second = try backflow(["apply", "--due"], scenario)
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stdout == "Nothing is due: `backflow schedule` shows when each sync runs next.\n")
    #expect(try scenario.openState().runs().count == 1)
  }

  @Test func dueRunsAFollowerAfterItsLeaderAndRecordsARunEvenWithNothingToSend() throws {
    let scenario = try scenario(others: ["follower": try other("b", schedule: "{ after: [users_to_crm] }")])
    try scenario.crm("create table contacts_b (email text primary key, tier text)")
    // The leader has run before, and nothing changed since: it still runs (and records a run) when due.
    #expect(try backflow(["apply", "--auto-approve"], scenario).status == 0)
    try scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "schedule: { every: 1s }\n"])
    Thread.sleep(forTimeInterval: 1.1)
    let result = try backflow(["apply", "--due"], scenario)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.hasPrefix("Due: users_to_crm; then follower\n"))
    let leader = try #require(result.stdout.range(of: "users_to_crm (ID 2, run 3): succeeded in "))
    let follower = try #require(result.stdout.range(of: "follower (ID 1, run 4): succeeded in "))
    #expect(leader.lowerBound < follower.lowerBound)
    #expect(result.stdout.contains("users_to_crm (ID 2, run 3): succeeded in ") && result.stdout.contains(" - nothing to send"))
  }

  @Test func parallelTwoRunsTwoIndependentSyncs() throws {
    let scenario = try scenario(others: ["second": try other("b", schedule: "{ cron: \"*/5 * * * *\" }")])
    try scenario.crm("create table contacts_b (email text primary key, tier text)")
    let result = try backflow(["apply", "--due", "--parallel", "2"], scenario)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.hasPrefix("Due: second, users_to_crm\n"))
    #expect(result.stdout.contains("second (ID ") && result.stdout.contains("users_to_crm (ID "))
    #expect(result.stdout.hasSuffix("Apply complete: 2 syncs succeeded.\n"))
    let runs = try scenario.openState().runs()
    #expect(runs.count == 2 && runs.allSatisfy { $0.status == .succeeded && $0.succeeded.add == 3 })
    #expect(try scenario.crmRows("select count(*) from contacts_b") == [["3"]])
  }

  @Test func aFailedSyncExitsOneAndItsFollowerIsSkipped() throws {
    let scenario = try scenario(others: ["follower": try other("b", schedule: "{ after: [users_to_crm] }")])
    try scenario.crm("create table contacts_b (email text primary key, tier text)")
    try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'x'))")
    try scenario.sql("update users set plan = 'x' where user_id = 2")
    let result = try backflow(["apply", "--due"], scenario)
    #expect(result.status == 1)
    #expect(result.stdout.contains("users_to_crm (ID 1, run 1): failed in "))
    #expect(result.stdout.contains("follower: skipped: users_to_crm failed\n"))
    #expect(result.stdout.contains("Apply complete: 0 syncs succeeded, 1 failed.\nSkipped: follower.\n"))
    #expect(try scenario.crmRows("select count(*) from contacts_b") == [["0"]])
  }

  @Test func parallelNeedsDueAndDueTakesNoSelection() throws {
    let scenario = try scenario()
    let parallel = try backflow(["apply", "--parallel", "2", "--auto-approve"], scenario)
    #expect(parallel.status != 0 && parallel.stderr.contains("--parallel goes with --due"))
    let select = try backflow(["apply", "--due", "--select", "users_to_crm"], scenario)
    #expect(select.status != 0 && select.stderr.contains("it takes no plan file or --select"))
    let zero = try backflow(["apply", "--due", "--parallel", "0"], scenario)
    #expect(zero.status != 0 && zero.stderr.contains("--parallel must be 1 or more"))
  }

  static let others = [
    "nightly": "{ cron: \"30 2 * * *\", timezone: America/New_York }",
    "twice_weekly": "{ weekly: { days: [mon, thu], at: \"07:30\", timezone: Europe/Berlin } }",
    "follower": "{ after: [users_to_crm], after_failure: run }",
    "by_hand": "manual",
  ]

  func scheduleScenario() throws -> Scenario {
    var others: [String: String] = [:]
    for (name, schedule) in Self.others { others[name] = try other(name, schedule: schedule) }
    others["paused"] = try other("paused", schedule: "{ every: 5m }", extra: "enabled: false\n")
    let scenario = try scenario(others: others)
    for name in Self.others.keys.sorted() + ["paused"] {
      try scenario.crm("create table contacts_\(name) (email text primary key, tier text)")
    }
    return scenario
  }

  @Test func scheduleShowsEachSyncsScheduleLastRunAndNextRun() throws {
    let scenario = try scheduleScenario()
    let before = try backflow(["schedule"], scenario)
    #expect(before.status == 0, "\(before.stderr)")
    #expect(before.stdout.hasPrefix("by_hand: manual: runs only when applied by name\n  last run:  never\n  next run:  only when applied by name\n"))
    #expect(before.stdout.contains("nightly: cron \"30 2 * * *\" in America/New_York\n  last run:  never\n  next run:  due now (it has never run)\n"))

    let due = try backflow(["apply", "--due", "-q"], scenario)
    #expect(due.status == 0, "\(due.stdout)\(due.stderr)")
    let result = try backflow(["schedule"], scenario)
    #expect(result.status == 0, "\(result.stderr)")
    let state = try scenario.openState()
    let id = try #require(try state.syncs().first { $0.name == "users_to_crm" }?.id)
    let run = try #require(try state.runs(syncID: id, limit: 1).first)
    let start = try #require(run.startDate)
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.contains("follower (ID \(id + 1)): after users_to_crm (runs even when it fails)"))
    #expect(lines.contains("  next run:  when users_to_crm has run in the same `apply --due`"))
    #expect(lines.contains("paused: disabled (enabled: false); every 5m"))
    #expect(lines.contains("  next run:  never: the sync is disabled"))
    #expect(lines.contains { $0.hasPrefix("twice_weekly (ID ") && $0.hasSuffix("): weekly on mon, thu at 07:30 in Europe/Berlin") })
    // The next 02:30 in New York, shown in UTC and in the zone.
    let nightly = try #require(lines.firstIndex { $0.hasPrefix("nightly (ID ") })
    #expect(lines[nightly + 1].hasPrefix("  last run:  run ") && lines[nightly + 1].contains(", succeeded, started "))
    #expect(lines[nightly + 2].contains("T0") && lines[nightly + 2].contains(":30:00Z (02:30 on "))
    #expect(lines[nightly + 2].hasSuffix(" in America/New_York)"))
    let user = try #require(lines.firstIndex(of: "users_to_crm (ID \(id)): every 1h"))
    #expect(lines[user + 1] == "  last run:  run \(run.id), succeeded, started \(run.startedAt)")
    #expect(lines[user + 2] == "  next run:  \(start.addingTimeInterval(3_600).formatted(.iso8601))")
    // JSON gives the local time with the zone's offset.
    let json = try backflow(["schedule", "--format", "json"], scenario).stdout
    #expect(json.contains("T02:30:00-05:00\"") || json.contains("T02:30:00-04:00\""))
  }

  @Test func scheduleAsJSON() throws {
    let scenario = try scheduleScenario()
    let result = try backflow(["schedule", "--format", "json"], scenario)
    #expect(result.status == 0, "\(result.stderr)")
    let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(document["format_version"] as? Int == 1)
    let syncs = try #require(document["syncs"] as? [[String: Any]])
    #expect(syncs.map { $0["name"] as? String } == ["by_hand", "follower", "nightly", "paused", "twice_weekly", "users_to_crm"])
    let byName = Dictionary(uniqueKeysWithValues: syncs.map { ($0["name"] as? String ?? "", $0) })
    let nightly = try #require(byName["nightly"])
    #expect(nightly["schedule"] as? String == "cron" && nightly["timezone"] as? String == "America/New_York")
    // Never run: due now, with no time yet.
    #expect(nightly["due"] as? Bool == true && nightly["next_run"] is NSNull && nightly["last_run"] is NSNull)
    #expect(nightly["id"] is NSNull)
    #expect(byName["twice_weekly"]?["description"] as? String == "weekly on mon, thu at 07:30 in Europe/Berlin")
    let follower = try #require(byName["follower"])
    #expect(follower["after"] as? [String] == ["users_to_crm"] && follower["after_failure"] as? String == "run")
    #expect(follower["due"] as? Bool == false)
    #expect(byName["paused"]?["enabled"] as? Bool == false && byName["paused"]?["due"] as? Bool == false)
    #expect(byName["by_hand"]?["schedule"] as? String == "manual")

    // After a run, the next run is an hour after its start, in UTC and in the zone.
    #expect(try backflow(["apply", "--select", "users_to_crm", "--auto-approve"], scenario).status == 0)
    let after = try backflow(["schedule", "--format", "json"], scenario)
    let again = try #require(try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any])
    let user = try #require((again["syncs"] as? [[String: Any]])?.first { $0["name"] as? String == "users_to_crm" })
    let lastRun = try #require(user["last_run"] as? [String: Any])
    #expect(lastRun["id"] as? Int == 1 && lastRun["status"] as? String == "succeeded")
    let start = try Date(try #require(lastRun["started_at"] as? String), strategy: .iso8601)
    #expect(user["next_run"] as? String == start.addingTimeInterval(3_600).formatted(.iso8601))
    #expect(user["next_run_local"] as? String == start.addingTimeInterval(3_600).formatted(.iso8601))
    #expect(user["due"] as? Bool == false && user["id"] as? Int == 1)
  }
}
