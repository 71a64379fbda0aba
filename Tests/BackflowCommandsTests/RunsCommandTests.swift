@testable import BackflowCommands
import BackflowConfig
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow runs` and `backflow runs show` on runs made by real applies.
@Suite("backflow runs")
struct RunsCommandTests {
  /// A second sync into another CRM table, so that filtering by sync has something to leave out.
  static let otherSync = """
    model: users
    destination: local
    object: people
    match: { email: email }
    mappings:
      - { from: first_name, to: first_name }

    """

  /// Three runs: users_to_crm run 1 (one row rejected), others run 2, users_to_crm run 3 (the
  /// rejected row fixed and one user added).
  func threeRuns(_ backend: Backend = .sqlite) async throws -> Scenario {
    let scenario = try Scenario(backend)
    try scenario.crmRejects(tiers: ["banned"])
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "banned"), (3, "cy@example.com", "Cy", "free")])
    try await scenario.apply(selection: ["users_to_crm"])
    scenario.write(["syncs/others.yaml": Self.otherSync])
    try scenario.crm("create table people (email text primary key, first_name text)")
    try await scenario.apply(selection: ["others"])
    try scenario.sql("update users set plan = 'pro' where user_id = 2; insert into users values (4, 'di@example.com', 'Di', 'team')")
    try await scenario.apply(selection: ["users_to_crm"])
    return scenario
  }

  /// The words of the table line that starts with `run`.
  func row(_ run: Int, in output: String) throws -> [String] {
    let line = try #require(output.split(separator: "\n").first { $0.split(separator: " ").first == "\(run)" })
    return line.split(separator: " ").map(String.init)
  }

  @Test func runsAreListedNewestFirstWithWhatEachPlannedAndDelivered() async throws {
    let scenario = try await threeRuns()
    let result = try scenario.backflow(["runs"])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(
      lines[0].split(separator: " ") == [
        "RUN", "SYNC", "STATUS", "STARTED", "DURATION", "QUERIED", "ADDED", "CHANGED", "REMOVED", "SUCCEEDED", "REJECTED",
        "ABORTED",
      ])
    #expect(lines.dropFirst().prefix(3).map { $0.split(separator: " ").first } == ["3", "2", "1"])
    // Started and duration (columns 4 and 5) vary; the rest does not.
    let third = try row(3, in: result.stdout)
    #expect(third.count == 12)
    #expect(Array(third.prefix(3)) == ["3", "users_to_crm", "succeeded"])
    #expect(Array(third.suffix(7)) == ["4", "2", "0", "0", "2", "0", "0"])
    #expect(try row(2, in: result.stdout).prefix(3) == ["2", "others", "succeeded"])
    let first = try row(1, in: result.stdout)
    #expect(Array(first.prefix(3)) == ["1", "users_to_crm", "failed"])
    #expect(Array(first.suffix(7)) == ["3", "3", "0", "0", "2", "1", "0"])
    #expect(first[3].hasSuffix("Z") && first[3].contains("T"))
    #expect(!result.stdout.contains("\u{1B}["))
    #expect(!result.stdout.contains("Showing the"))
  }

  @Test func jsonHasEveryCountOfEveryRun() async throws {
    let scenario = try await threeRuns()
    let result = try scenario.backflow(["runs", "--format", "json"])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try JSONValue.parse(result.stdout)
    #expect(json["format_version"] == .int(1) && json["sync"] == .null && json["truncated"] == .bool(false))
    guard case let .array(runs)? = json["runs"] else {
      Issue.record("no runs array in \(result.stdout)")
      return
    }
    #expect(runs.map { $0["id"] } == [.int(3), .int(2), .int(1)])
    #expect(runs.map { $0["sync"] } == [.string("users_to_crm"), .string("others"), .string("users_to_crm")])
    let first = runs[2]
    #expect(first["status"] == .string("failed") && first["sync_id"] == .int(1) && first["rows_queried"] == .int(3))
    #expect(first["planned"] == .object([("add", .int(3)), ("change", .int(0)), ("remove", .int(0)), ("total", .int(3))]))
    #expect(first["attempted"]?["add"] == .int(3) && first["succeeded"]?["add"] == .int(2))
    #expect(first["failed"]?["add"] == .int(1) && first["aborted"]?["total"] == .int(0))
    #expect(first["error"] == .null && first["git_commit"] == .null)
    guard case let .int(seconds)? = first["duration_seconds"] else {
      Issue.record("duration_seconds is \(String(describing: first["duration_seconds"]))")
      return
    }
    #expect(seconds >= 0)
    guard case let .string(started)? = first["started_at"], case let .string(finished)? = first["finished_at"] else {
      Issue.record("no times in \(first)")
      return
    }
    #expect(started <= finished)
  }

  @Test func aSyncNameAndLimitNarrowTheList() async throws {
    let scenario = try await threeRuns()
    let mine = try scenario.backflow(["runs", "users_to_crm", "--format", "json"])
    #expect(mine.status == 0, "\(mine.stderr)")
    let json = try JSONValue.parse(mine.stdout)
    #expect(json["sync"] == .string("users_to_crm"))
    if case let .array(runs)? = json["runs"] {
      #expect(runs.map { $0["id"] } == [.int(3), .int(1)])
    } else {
      Issue.record("no runs in \(mine.stdout)")
    }

    let newest = try scenario.backflow(["runs", "--limit", "1"])
    #expect(newest.status == 0)
    #expect(try row(3, in: newest.stdout).prefix(2) == ["3", "users_to_crm"])
    #expect(!newest.stdout.split(separator: "\n").contains { $0.hasPrefix("2 ") || $0.hasPrefix("1 ") })
    #expect(newest.stdout.contains("Showing the 1 newest runs; --limit N shows more (--limit 0 shows every run)."))
    let cut = try JSONValue.parse(try scenario.backflow(["runs", "users_to_crm", "--limit", "1", "--format", "json"]).stdout)
    #expect(cut["truncated"] == .bool(true))
    let whole = try JSONValue.parse(try scenario.backflow(["runs", "others", "--limit", "1", "--format", "json"]).stdout)
    #expect(whole["truncated"] == .bool(false))
    let all = try JSONValue.parse(try scenario.backflow(["runs", "list", "--limit", "0", "--format", "json"]).stdout)
    if case let .array(runs)? = all["runs"] { #expect(runs.count == 3) } else { Issue.record("no runs") }
  }

  @Test func anUnknownSyncIsAnErrorWithASuggestion() async throws {
    let scenario = try await threeRuns()
    let result = try scenario.backflow(["runs", "users_to_cmr"])
    #expect(result.status == 1)
    #expect(result.stdout.isEmpty)
    #expect(
      result.stderr
        == "error: there is no sync named \"users_to_cmr\" in the project or the state store; did you mean \"users_to_crm\"?\n")
  }

  @Test func withoutRunsItSaysSoAndSucceeds() throws {
    let scenario = try Scenario(.sqlite)
    let none = try scenario.backflow(["runs"])
    #expect(none.status == 0, "\(none.stderr)")
    #expect(none.stdout == "No runs yet: `backflow apply` records one for each sync it runs.\n")
    let named = try scenario.backflow(["runs", "users_to_crm"])
    #expect(named.status == 0)
    #expect(named.stdout.hasPrefix("No runs of users_to_crm yet"))
    let json = try JSONValue.parse(try scenario.backflow(["runs", "--format", "json"]).stdout)
    #expect(json["runs"] == .array([]) && json["format_version"] == .int(1))
    // Reading never creates the state store.
    #expect(!FileManager.default.fileExists(atPath: scenario.directory.appendingPathComponent(".backflow").path))
  }

  @Test func showPrintsOneRunWithCountsPerOperationAndItsFailedRows() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.crmRejects(tiers: ["banned"])
    try scenario.insert((1...14).map { ($0, "user\($0)@example.com", "User \($0)", $0 <= 12 ? "banned" : "pro") })
    try await scenario.apply()
    let result = try scenario.backflow(["runs", "show", "1"])
    #expect(result.status == 0, "\(result.stderr)")
    let text = result.stdout
    #expect(text.hasPrefix("Run 1 of users_to_crm (sync ID 1): failed\n"))
    #expect(text.contains("  queried   14 rows\n"))
    #expect(text.contains("  commit    none (the project was not in a git repository)\n"))
    let lines = text.split(separator: "\n")
    let header = try #require(lines.firstIndex { $0.contains("PLANNED") })
    #expect(lines[header].split(separator: " ") == ["PLANNED", "ATTEMPTED", "SUCCEEDED", "FAILED", "ABORTED"])
    let table = lines[(header + 1)...].prefix(4)
    #expect(
      table.map { $0.split(separator: " ").map(String.init) } == [
        ["add", "14", "14", "2", "12", "0"], ["change", "0", "0", "0", "0", "0"], ["remove", "0", "0", "0", "0", "0"],
        ["total", "14", "14", "2", "12", "0"],
      ])
    #expect(text.contains("Failed rows (the first 10 of 12; --rows N shows more):\n"))
    let rowsHeader = try #require(lines.firstIndex { $0.contains("OPERATION") })
    #expect(lines[rowsHeader].split(separator: " ") == ["OPERATION", "KEY", "REASON"])
    let failed = lines[(rowsHeader + 1)...].prefix { !$0.isEmpty && $0.hasPrefix("  ") }
    #expect(failed.count == 10)
    #expect(failed.allSatisfy { $0.contains("CHECK constraint failed") })
    #expect(failed.first?.split(separator: " ").dropFirst().first == "1")
    #expect(text.contains("Grouped by reason: `backflow errors users_to_crm --run 1`."))
    #expect(!text.contains("Error:"))

    let json = try JSONValue.parse(try scenario.backflow(["runs", "show", "1", "--rows", "2", "--format", "json"]).stdout)
    #expect(json["format_version"] == .int(1) && json["run"]?["id"] == .int(1))
    #expect(json["run"]?["failed"]?["add"] == .int(12))
    #expect(json["failed_rows"]?["total"] == .int(12))
    guard case let .array(sample)? = json["failed_rows"]?["sample"] else {
      Issue.record("no sample")
      return
    }
    let firstTwo = try scenario.openState().failures(runID: 1).prefix(2).map { JSONValue.string($0.key ?? "") }
    #expect(sample.map { $0["key"] } == firstTwo && firstTwo.first == .string("1"))
    #expect(sample.allSatisfy { $0["operation"] == .string("add") })
    if case let .string(reason)? = sample.first?["reason"] {
      #expect(reason.contains("CHECK constraint failed"))
    } else {
      Issue.record("no reason")
    }
  }

  @Test func showPrintsARefusedRunsErrorInFull() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "free")])
    try await scenario.apply()
    try scenario.sql("delete from users")
    try await scenario.apply()
    let result = try scenario.backflow(["runs", "show", "2"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("Run 2 of users_to_crm (sync ID 1): failed\n"))
    #expect(result.stdout.contains("\nError:\n  refused: removes 2 of the 2 rows last synced, more than max_remove"))
    #expect(result.stdout.contains("apply with --allow-mass-delete if this is intended\n"))
    #expect(!result.stdout.contains("Failed rows"))
    let table = result.stdout.split(separator: "\n").first { $0.hasPrefix("  remove") }
    #expect(table?.split(separator: " ") == ["remove", "2", "0", "0", "0", "2"])
    // The list points at the error too.
    let list = try scenario.backflow(["runs"])
    #expect(list.stdout.contains("\nrun 2: refused: removes 2 of the 2 rows last synced"))
  }

  @Test func anUnknownRunIsAnError() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
    try await scenario.apply()
    let result = try scenario.backflow(["runs", "show", "42"])
    #expect(result.status == 1)
    #expect(
      result.stderr
        == "error: there is no run 42 in the state store sqlite:.backflow/state.db; `backflow runs` lists the runs\n")
    #expect(try scenario.backflow(["runs", "show", "one"]).status == 64)
  }

  @Test func aPostgreSQLStateStoreReadsTheSame() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try await threeRuns(.postgres)
    let result = try scenario.backflow(["runs"])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(Array(try row(3, in: result.stdout).suffix(7)) == ["4", "2", "0", "0", "2", "0", "0"])
    #expect(Array(try row(1, in: result.stdout).prefix(3)) == ["1", "users_to_crm", "failed"])
    let show = try JSONValue.parse(try scenario.backflow(["runs", "show", "1", "--format", "json"]).stdout)
    #expect(show["failed_rows"]?["total"] == .int(1))
    if case let .array(sample)? = show["failed_rows"]?["sample"] {
      #expect(sample.map { $0["key"] } == [.string("2")])
    } else {
      Issue.record("no sample")
    }
    let unknown = try scenario.backflow(["runs", "show", "9"])
    #expect(unknown.status == 1 && unknown.stderr.contains("there is no run 9 in the state store postgresql:///"))
  }

  // MARK: Rendering

  static let record = RunRecord(
    id: 7, syncID: 1, status: .failed, startedAt: "2025-01-02T03:04:05Z", finishedAt: "2025-01-02T03:05:10Z",
    gitCommit: "0123456789abcdef", rowsQueried: 10, planned: OperationCounts(add: 5, change: 1),
    attempted: OperationCounts(add: 5, change: 1), succeeded: OperationCounts(add: 4, change: 1),
    failed: OperationCounts(add: 1))

  @Test func atATerminalSucceededIsGreenAndRejectedRed() {
    let coloured = RunsRenderer(terminal: Terminal(colors: true), syncNames: [1: "s"]).list(
      [Self.record], truncated: false, sync: nil, as: .text)
    #expect(coloured.contains("\u{1B}[32m5\u{1B}[0m"))
    #expect(coloured.contains("\u{1B}[1;31m1\u{1B}[0m"))
    #expect(coloured.contains("\u{1B}[1;31mfailed\u{1B}[0m"))
    // Zero aborted rows stay plain, and padding is outside the colour.
    #expect(coloured.hasSuffix("  0\n"))
    let plain = RunsRenderer(terminal: Terminal(colors: false), syncNames: [1: "s"]).list(
      [Self.record], truncated: false, sync: nil, as: .text)
    #expect(!plain.contains("\u{1B}["))
    #expect(plain.contains("1m05s"))
    let strip = { (text: String) in text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression) }
    #expect(strip(coloured) == plain)
  }

  @Test func durationsReadAsATimeSpan() {
    let renderer = RunsRenderer(terminal: Terminal(colors: false), syncNames: [:])
    func run(_ finished: String?) -> RunRecord {
      var run = Self.record
      run.finishedAt = finished
      return run
    }
    #expect(renderer.duration(run("2025-01-02T03:04:05Z")) == "<1s")
    #expect(renderer.duration(run("2025-01-02T03:04:47Z")) == "42s")
    #expect(renderer.duration(run("2025-01-02T05:10:05Z")) == "2h06m")
    #expect(renderer.duration(run(nil)) == nil)
  }
}
