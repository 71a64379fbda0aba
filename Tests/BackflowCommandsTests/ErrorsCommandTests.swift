@testable import BackflowCommands
import BackflowConfig
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow errors`: failed rows of real applies, grouped by reason and by `error_categories`.
@Suite("backflow errors")
struct ErrorsCommandTests {
  static let categories = """
    error_categories:
      rejected by CRM: CHECK constraint
      null keys: is NULL$
      timeouts: (?i)timed out

    """

  /// A project whose first run fails five rows for four reasons: two CRM rejections (tier
  /// banned), one of another check (tier closed), a duplicate key and a NULL key.
  func failingRun(_ backend: Backend = .sqlite, categories: String = Self.categories) async throws -> Scenario {
    let scenario = try Scenario(backend)
    if !categories.isEmpty {
      scenario.write(["backflow.yaml": try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8) + categories])
    }
    try scenario.crmRejects(tiers: ["banned", "closed"])
    try scenario.insert([
      (1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "banned"), (3, "cy@example.com", "Cy", "closed"),
      (4, "di@example.com", "Di", "banned"), (5, "ed@example.com", "Ed", "pro"), (5, "twin@example.com", "Twin", "pro"),
      (nil, "nobody@example.com", "No", "pro"),
    ])
    try await scenario.apply()
    return scenario
  }

  func array(_ value: JSONValue?) throws -> [JSONValue] {
    guard case let .array(items)? = value else { throw ScenarioError("not an array: \(String(describing: value))") }
    return items
  }

  @Test func failedRowsAreGroupedByReasonUnderTheFirstMatchingCategory() async throws {
    let scenario = try await failingRun()
    let result = try scenario.backflow(["errors"])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let text = result.stdout
    #expect(text.hasPrefix("Failed rows in the latest finished run of each sync:\n"))
    let runLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("  users_to_crm") })
    #expect(runLine.split(separator: " ").map(String.init).enumerated().filter { $0.offset != 3 }.map(\.element) == [
      "users_to_crm", "1", "failed", "5",
    ])
    // Categories in the order written, with "uncategorised" last; reasons most rows first.
    let headings = text.split(separator: "\n").filter { !$0.hasPrefix(" ") && $0.contains(": ") && $0.contains("row") }
    #expect(
      headings == [
        "rejected by CRM: 3 rows  /CHECK constraint/", "null keys: 1 row  /is NULL$/", "timeouts: 0 rows  /(?i)timed out/",
        "uncategorised: 1 row",
      ])
    #expect(text.contains("\n  2  CHECK constraint failed: tier <> 'banned'\n     users_to_crm run 1: 2, 4\n"))
    #expect(text.contains("\n  1  CHECK constraint failed: tier <> 'closed'\n     users_to_crm run 1: 3\n"))
    #expect(text.contains("\n  1  primary key is NULL\n     users_to_crm run 1: NULL\n"))
    #expect(text.contains("uncategorised: 1 row\n  1  duplicate primary key\n     users_to_crm run 1: 5\n"))
    #expect(text.hasSuffix("5 failed rows for 4 reasons; the next run of each sync retries them. `backflow runs show RUN` shows a run in full.\n"))
    #expect(!text.contains("\u{1B}["))
  }

  @Test func jsonListsEveryCategoryReasonAndSample() async throws {
    let scenario = try await failingRun()
    let result = try scenario.backflow(["errors", "users_to_crm", "--format", "json", "--keys", "1"])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try JSONValue.parse(result.stdout)
    #expect(json["format_version"] == .int(1) && json["sync"] == .string("users_to_crm") && json["run"] == .null)
    #expect(json["failed_rows"] == .int(5))
    let runs = try array(json["runs"])
    #expect(runs.count == 1 && runs[0]["id"] == .int(1) && runs[0]["status"] == .string("failed"))
    #expect(runs[0]["failed_rows"] == .int(5) && runs[0]["error"] == .null && runs[0]["sync_id"] == .int(1))
    let categories = try array(json["categories"])
    try #require(categories.count == 4)
    #expect(categories.map { $0["name"] } == ["rejected by CRM", "null keys", "timeouts", "uncategorised"].map(JSONValue.string))
    #expect(categories.map { $0["failed_rows"] } == [.int(3), .int(1), .int(0), .int(1)])
    #expect(categories.map { $0["pattern"] } == [.string("CHECK constraint"), .string("is NULL$"), .string("(?i)timed out"), .null])
    let rejected = try array(categories[0]["reasons"])
    #expect(rejected.map { $0["failed_rows"] } == [.int(2), .int(1)])
    #expect(rejected[0]["reason"] == .string("CHECK constraint failed: tier <> 'banned'"))
    let share = try array(rejected[0]["syncs"])
    #expect(share.count == 1 && share[0]["sync"] == .string("users_to_crm") && share[0]["run_id"] == .int(1))
    #expect(share[0]["failed_rows"] == .int(2))
    #expect(share[0]["sample"] == .array([.object([("operation", .string("add")), ("key", .string("2"))])]))
    let nullKey = try array(try array(categories[1]["reasons"])[0]["syncs"])[0]
    #expect(nullKey["sample"] == .array([.object([("operation", .string("add")), ("key", .null)])]))
    #expect(try array(categories[2]["reasons"]).isEmpty)
  }

  @Test func itReadsTheLatestFinishedRunOfEachSyncOrTheRunGiven() async throws {
    let scenario = try await failingRun(categories: "")
    // Run 2 retries the failed rows: Bob is fixed, the rest fail again.
    try scenario.sql("update users set plan = 'pro' where user_id = 2")
    try await scenario.apply()
    let latest = try scenario.backflow(["errors"])
    #expect(latest.status == 0, "\(latest.stderr)")
    #expect(latest.stdout.contains("uncategorised: 4 rows\n"))
    #expect(latest.stdout.contains("\n  1  CHECK constraint failed: tier <> 'banned'\n     users_to_crm run 2: 4\n"))
    #expect(latest.stdout.contains("No error_categories in backflow.yaml: every reason is uncategorised."))

    let first = try scenario.backflow(["errors", "--run", "1"])
    #expect(first.status == 0)
    #expect(first.stdout.hasPrefix("Failed rows of run 1 (users_to_crm, failed, finished "))
    #expect(first.stdout.contains("\n  2  CHECK constraint failed: tier <> 'banned'\n     users_to_crm run 1: 2, 4\n"))
    let json = try JSONValue.parse(try scenario.backflow(["errors", "--run", "1", "--format", "json"]).stdout)
    #expect(json["run"] == .int(1) && json["failed_rows"] == .int(5))
    #expect(try array(json["categories"]).map { $0["name"] } == [.string("uncategorised")])

    let wrongSync = try scenario.backflow(["errors", "other", "--run", "1"])
    #expect(wrongSync.status == 1)
    #expect(wrongSync.stderr.hasPrefix("error: there is no sync named \"other\" in the project or the state store"))
  }

  @Test func aNewerRunThatSentNothingIsPassedOverAndNamed() async throws {
    let scenario = try await failingRun()
    // Run 2 is refused by the deletion guard: the rows of run 1 are still the ones failing.
    try scenario.sql("delete from users")
    try await scenario.apply()
    #expect(try scenario.openState().runs().first?.error?.hasPrefix("refused: ") == true)
    let result = try scenario.backflow(["errors"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("\n  users_to_crm: newer run 2 sent no rows, so run 1 holds the rows failing now; run 2 error: refused: removes "))
    #expect(result.stdout.contains("users_to_crm run 1: 2, 4\n"))
    let json = try JSONValue.parse(try scenario.backflow(["errors", "--format", "json"]).stdout)
    let run = try #require(try array(json["runs"]).first)
    #expect(run["id"] == .int(1) && run["failed_rows"] == .int(5))
    #expect(run["passed_over"]?["id"] == .int(2) && run["passed_over"]?["status"] == .string("failed"))
    // Asked for by ID, the refused run has no failed rows.
    let refused = try JSONValue.parse(try scenario.backflow(["errors", "--run", "2", "--format", "json"]).stdout)
    let refusedRun = try #require(try array(refused["runs"]).first)
    #expect(refused["failed_rows"] == .int(0) && refusedRun["passed_over"] == .null && refusedRun["id"] == .int(2))
  }

  @Test func uncategorisedIsShownEvenWhenNothingFailed() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["backflow.yaml": try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8) + Self.categories])
    try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
    try await scenario.apply()
    let result = try scenario.backflow(["errors"])
    #expect(result.status == 0)
    #expect(result.stdout.contains("\nuncategorised: 0 rows\n"))
    #expect(result.stdout.contains("\nrejected by CRM: 0 rows  /CHECK constraint/\n"))
    #expect(result.stdout.hasSuffix("No failed rows.\n"))
    let json = try JSONValue.parse(try scenario.backflow(["errors", "--format", "json"]).stdout)
    #expect(try array(json["categories"]).last?["name"] == .string("uncategorised"))
  }

  @Test func withoutRunsItSaysSoAndSucceeds() throws {
    let scenario = try Scenario(.sqlite)
    let result = try scenario.backflow(["errors"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("No finished runs yet, so no failed rows"))
    let named = try scenario.backflow(["errors", "users_to_crm", "--format", "json"])
    let json = try JSONValue.parse(named.stdout)
    #expect(json["runs"] == .array([]) && json["failed_rows"] == .int(0))
    #expect(try array(json["categories"]).map { $0["name"] } == [.string("uncategorised")])
  }

  @Test func anUnknownSyncOrRunIsAnError() async throws {
    let scenario = try await failingRun()
    let sync = try scenario.backflow(["errors", "user_to_crm"])
    #expect(sync.status == 1 && sync.stdout.isEmpty)
    #expect(
      sync.stderr
        == "error: there is no sync named \"user_to_crm\" in the project or the state store; did you mean \"users_to_crm\"?\n")
    let run = try scenario.backflow(["errors", "--run", "8"])
    #expect(run.status == 1)
    #expect(run.stderr.contains("error: there is no run 8 in the state store"))
    scenario.write(["syncs/others.yaml": RunsCommandTests.otherSync])
    let mismatch = try scenario.backflow(["errors", "others", "--run", "1"])
    #expect(mismatch.status == 1)
    #expect(mismatch.stderr == "error: run 1 is a run of users_to_crm, not of others\n")
  }

  @Test func aPatternThatDoesNotCompileFailsValidateWhereItIsWritten() async throws {
    let scenario = try Scenario(.sqlite)
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    scenario.write(["backflow.yaml": project + "error_categories:\n  fine: ok\n  timeouts: \"(timed out\"\n"])
    let lines = project.split(separator: "\n", omittingEmptySubsequences: false).count
    let validate = try scenario.backflow(["validate"])
    #expect(validate.status == 1)
    #expect(
      validate.stdout.contains(
        "backflow.yaml:\(lines + 2):13: error: error_categories: category \"timeouts\": \"(timed out\" is not a valid regular expression: expected ')'\n"
      ))
    let errors = try scenario.backflow(["errors"])
    #expect(errors.status == 1)
    #expect(errors.stderr.contains("error: the project is not valid; `backflow validate` lists every problem"))
  }

  @Test func aPostgreSQLStateStoreGroupsTheSame() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try await failingRun(.postgres)
    let json = try JSONValue.parse(try scenario.backflow(["errors", "--format", "json"]).stdout)
    #expect(json["failed_rows"] == .int(5))
    let categories = try array(json["categories"])
    try #require(categories.count == 4)
    #expect(categories.map { $0["failed_rows"] } == [.int(3), .int(1), .int(0), .int(1)])
    let banned = try array(categories[0]["reasons"])[0]
    #expect(banned["failed_rows"] == .int(2))
    #expect(try array(banned["syncs"])[0]["sample"] == .array([
      .object([("operation", .string("add")), ("key", .string("2"))]),
      .object([("operation", .string("add")), ("key", .string("4"))]),
    ]))
    let text = try scenario.backflow(["errors", "users_to_crm"]).stdout
    #expect(text.contains("uncategorised: 1 row\n  1  duplicate primary key\n     users_to_crm run 1: 5\n"))
  }

  // MARK: Grouping and rendering

  @Test func reasonsFromSeveralSyncsAddUpAndColourOnlyAtATerminal() throws {
    let runs = [
      RunRecord(id: 3, syncID: 1, status: .failed, startedAt: "t", finishedAt: "t", gitCommit: nil, rowsQueried: 9, planned: .init(add: 9)),
      RunRecord(id: 4, syncID: 2, status: .failed, startedAt: "t", finishedAt: "t", gitCommit: nil, rowsQueried: 9, planned: .init(add: 9)),
    ]
    let groups = [
      FailureGroup(runID: 3, reason: "HTTP 429: slow down", count: 2, sample: [FailedRow(operation: "add", key: "a", reason: "")]),
      FailureGroup(runID: 4, reason: "HTTP 429: slow down", count: 5, sample: [FailedRow(operation: "change", key: "b", reason: "")]),
      FailureGroup(runID: 4, reason: "weird", count: 1, sample: [FailedRow(operation: "add", key: "c", reason: "")]),
    ]
    let at = SourceLocation(file: "backflow.yaml", line: 1, column: 1)
    let categories = [("throttled", "^HTTP 429"), ("any HTTP", "HTTP")].map {
      ErrorCategory(name: Located($0.0, at: at), pattern: Located($0.1, at: at))
    }
    let report = try ErrorReport(runs: runs, groups: groups, syncNames: [1: "one", 2: "two"], categories: categories)
    #expect(report.failedRows == 8)
    #expect(report.categories.map(\.name) == ["throttled", "any HTTP", "uncategorised"])
    #expect(report.categories.map(\.count) == [7, 0, 1])
    let throttled = try #require(report.categories[0].reasons.first)
    #expect(throttled.syncs.map(\.sync) == ["two", "one"])

    let coloured = ErrorsRenderer(report: report, terminal: Terminal(colors: true), chosenRun: nil, sync: nil).text()
    #expect(coloured.contains("\u{1B}[1;33muncategorised\u{1B}[0m: 1 row"))
    #expect(coloured.contains("\u{1B}[1;31m7\u{1B}[0m  HTTP 429: slow down"))
    let plain = ErrorsRenderer(report: report, terminal: Terminal(colors: false), chosenRun: nil, sync: nil).text()
    #expect(!plain.contains("\u{1B}["))
    #expect(plain.contains("  7  HTTP 429: slow down\n     two run 4: b … and 4 more\n     one run 3: a … and 1 more\n"))
  }
}
