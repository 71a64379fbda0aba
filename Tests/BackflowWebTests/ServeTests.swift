import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// `backflow serve`: the built executable serving pages, the JSON API and /metrics over a state
/// store whose runs the real engine made.
@Suite("backflow serve")
struct ServeTests {
  static let hostile = "<script>alert(1)</script>"

  /// A second sync whose mapping holds markup, so the applied config shows it.
  static let shouting = """
    model: users
    destination: local
    object: people
    match: { email: email }
    mappings:
      - { template: "<b>{{ first_name }}</b>", to: first_name }

    """

  /// users_to_crm run 1 (Bob's tier is rejected with a reason holding `<script>`), shouting run 2
  /// (Cy's `<b>Cy</b>` is rejected), users_to_crm run 3 (Bob fixed and added again, as his row never arrived, and Di added).
  /// A `rejected_rows` alert opens on runs 1 and 2 and closes on run 3, so shouting's stays open (its
  /// channel listens nowhere, so the notices wait in the state store).
  static func project(_ backend: Backend = .sqlite) async throws -> Scenario {
    let scenario = try Scenario(backend, label: "serve")
    try scenario.crmRejects(tiers: [hostile])
    try scenario.insert([
      (1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", hostile), (3, "cy@example.com", "Cy", "free"),
    ])
    let yaml = scenario.directory.appendingPathComponent("backflow.yaml")
    let text = try String(contentsOf: yaml, encoding: .utf8)
    scenario.write([
      "backflow.yaml": text + "error_categories:\n  refused: \"CHECK|<script>\"\n"
        + "notifications:\n  hooks: { type: webhook, url: \"http://127.0.0.1:9/alerts\", secret: s }\n"
        + "alerts:\n  - { when: rejected_rows, threshold: 5%, notify: [hooks] }\n"
    ])
    try await scenario.apply(selection: ["users_to_crm"])
    scenario.write(["syncs/shouting.yaml": shouting])
    try scenario.crm("create table people (email text primary key, first_name text check (first_name <> '<b>Cy</b>'))")
    try await scenario.apply(selection: ["shouting"])
    try scenario.sql("update users set plan = 'pro' where user_id = 2; insert into users values (4, 'di@example.com', 'Di', 'team')")
    try await scenario.apply(selection: ["users_to_crm"])
    return scenario
  }

  @Test func syncsPageListsEverySyncWithItsLastRunAndRoute() async throws {
    let scenario = try await Self.project()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let page = try await served.get("/")
      #expect(page.status == 200)
      #expect(page.contentType.hasPrefix("text/html"))
      #expect(page.body.contains("<a href=\"/syncs/1\">users_to_crm</a>"))
      #expect(page.body.contains("<a href=\"/syncs/2\">shouting</a>"))
      #expect(page.body.contains("users → local.contacts (upsert)"))
      #expect(page.body.contains("users → local.people (upsert)"))
      // users_to_crm's last run is run 3, which succeeded; shouting's is run 2.
      #expect(page.body.contains("<a href=\"/runs/3\">3</a>"))
      #expect(page.body.contains("<a href=\"/runs/2\">2</a>"))
      #expect(!page.body.contains("<a href=\"/runs/1\">"))
      #expect(page.body.contains("<span class=\"status succeeded\">succeeded</span>"))
      #expect(!page.body.contains("<script"))

      let api = try await served.json("/api/syncs")
      guard case let .array(syncs)? = api["syncs"] else {
        Issue.record("no syncs in \(api)")
        return
      }
      #expect(syncs.map { $0["name"] } == [.string("shouting"), .string("users_to_crm")])
      #expect(syncs.map { $0["last_run"]?["id"] } == [.int(2), .int(3)])
      #expect(syncs.first?["destination"] == .string("local"))
      #expect(syncs.first?["next_run"] != nil && syncs.first?["next_run"] != .null)
      #expect(syncs.map { $0["open_alerts"] } == [.array([.string("rejected_rows")]), .array([])])
      #expect(page.body.contains("<td class=\"red\">rejected_rows</td>"))
    }
  }

  @Test func syncPageShowsItsChartRunsAndConfigEscaped() async throws {
    let scenario = try await Self.project()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let page = try await served.get("/syncs/1")
      #expect(page.status == 200)
      #expect(page.body.contains("<h1>Sync users_to_crm <span class=\"muted\">ID 1</span></h1>"))
      // The chart: one linked bar per run, oldest on the left, with its figures as a tooltip.
      let svg = try #require(page.body.range(of: "<svg").map { String(page.body[$0.lowerBound...]) })
      let first = try #require(svg.range(of: "<a href=\"/runs/1\">"))
      let third = try #require(svg.range(of: "<a href=\"/runs/3\">"))
      #expect(first.lowerBound < third.lowerBound)
      #expect(svg.contains("<title>run 1 (failed): 2 added, 0 changed, 0 removed, 1 failed</title>"))
      #expect(svg.contains("<title>run 3 (succeeded): 2 added, 0 changed, 0 removed, 0 failed</title>"))
      #expect(!svg.contains("/runs/2\""))
      // The table, newest first.
      let table = try #require(page.body.range(of: "<table class=\"runs\">").map { String(page.body[$0.lowerBound...]) })
      let three = try #require(table.range(of: "<a href=\"/runs/3\">3</a>"))
      let one = try #require(table.range(of: "<a href=\"/runs/1\">1</a>"))
      #expect(three.lowerBound < one.lowerBound)

      let shouting = try await served.get("/syncs/2")
      #expect(shouting.body.contains("&lt;b&gt;{{ first_name }}&lt;/b&gt;"))
      #expect(!shouting.body.contains("<b>{{"))
      #expect(try await served.get("/syncs/99").status == 404)
    }
  }

  @Test func runPageHasEveryFigureTheErrorAndFailedRowsEscaped() async throws {
    let scenario = try await Self.project()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let page = try await served.get("/runs/1")
      #expect(page.status == 200)
      let escaped = "CHECK constraint failed: tier &lt;&gt; &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;"
      #expect(page.body.contains(escaped), "\(page.body)")
      #expect(!page.body.contains("<script"))
      #expect(page.body.contains("<dt>rows queried</dt><dd>3</dd>"))
      #expect(page.body.contains("<span class=\"status failed\">failed</span>"))
      // add: planned 3, attempted 3, succeeded 2, failed 1, aborted 0.
      #expect(
        page.body.contains(
          "<tr><td>add</td><td class=\"num\">3</td><td class=\"num\">3</td><td class=\"num green\">2</td>"
            + "<td class=\"num red\">1</td><td class=\"num\">0</td></tr>"))
      #expect(page.body.contains("<h2>Failed rows (1)</h2>"))
      #expect(page.body.contains("<td>add</td><td>2</td>"))
      #expect(try await served.get("/runs/42").status == 404)

      let errors = try await served.get("/errors")
      #expect(errors.status == 200)
      #expect(errors.body.contains("<h2>refused <code>/CHECK|&lt;script&gt;/</code>"))
      #expect(!errors.body.contains("<script"))
      // Run 1's rows were fixed by run 3; shouting's run 2 still fails Cy (user 3).
      #expect(!errors.body.contains(escaped))
      #expect(errors.body.contains("CHECK constraint failed: first_name &lt;&gt; &#39;&lt;b&gt;Cy&lt;/b&gt;&#39;"))
      #expect(errors.body.contains("<a href=\"/runs/2\">2</a></td><td>3</td>"))
      #expect(!errors.body.contains("<b>Cy"))
      let locks = try await served.get("/locks")
      #expect(locks.body.contains("No sync is locked"))
    }
  }

  @Test func apiHasTheShapesOfRunsAndErrorsJSON() async throws {
    let scenario = try await Self.project()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let runs = try await served.json("/api/syncs/1/runs")
      let command = try scenario.backflowJSON(["runs", "users_to_crm", "--format", "json", "--limit", "0"])
      #expect(runs["runs"] == command["runs"])
      #expect(runs["format_version"] == command["format_version"] && runs["sync"] == command["sync"])
      #expect(runs["truncated"] == .bool(false) && runs["total"] == .int(2))

      let run = try await served.json("/api/runs/1")
      let shown = try scenario.backflowJSON(["runs", "show", "1", "--format", "json"])
      #expect(run["run"] == shown["run"])
      #expect(run["failed_rows"]?["total"] == shown["failed_rows"]?["total"])
      #expect(run["failed_rows"]?["sample"] == shown["failed_rows"]?["sample"])

      let errors = try await served.json("/api/errors")
      #expect(errors == (try scenario.backflowJSON(["errors", "--format", "json"])))
      #expect(try await served.json("/api/locks")["locks"] == .array([]))
      #expect(try await served.get("/api/runs/99").status == 404)
    }
  }

  @Test func theAppliedConfigNamesSecretsButNeverShowsThem() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try await Self.project(.postgres)
    let conninfo = try #require(scenario.environment["WAREHOUSE_URL"])
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let page = try await served.get("/syncs/1")
      #expect(page.body.contains("${WAREHOUSE_URL}"))
      #expect(!page.body.contains(conninfo))
    }
  }
}
