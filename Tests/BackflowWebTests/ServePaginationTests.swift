import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// Pages of runs (50 a page) and of failed rows (100 a page) in `backflow serve`.
@Suite("backflow serve pagination")
struct ServePaginationTests {
  /// Run 1 fails 250 rows; runs 2 to 52 send nothing: 52 runs in all.
  static func longHistory() async throws -> Scenario {
    let scenario = try Scenario(.sqlite, label: "pages")
    try scenario.crmRejects(tiers: ["banned"])
    try scenario.sql(
      "with recursive n(i) as (select 1 union all select i + 1 from n where i < 250) "
        + "insert into users select i, 'u' || i || '@example.com', 'U' || i, 'banned' from n")
    try await scenario.apply()
    for _ in 2...52 {
      try await scenario.apply()
    }
    return scenario
  }

  @Test func runsAndFailedRowsComeAPageAtATime() async throws {
    let scenario = try await Self.longHistory()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let first = try await served.get("/syncs/1")
      #expect(first.body.contains("page 1 of 2"))
      #expect(first.body.contains("<a rel=\"next\" href=\"/syncs/1?page=2\">"))
      #expect(first.body.contains("<a href=\"/runs/52\">52</a>") && first.body.contains("<a href=\"/runs/3\">3</a>"))
      #expect(!first.body.contains("<a href=\"/runs/2\">2</a>"))
      let second = try await served.get("/syncs/1?page=2")
      #expect(second.body.contains("page 2 of 2"))
      #expect(second.body.contains("<a href=\"/runs/2\">2</a>") && second.body.contains("<a href=\"/runs/1\">1</a>"))
      #expect(!second.body.contains("<a href=\"/runs/3\">3</a>"))
      #expect(second.body.contains("<a rel=\"prev\" href=\"/syncs/1?page=1\">"))

      let api = try await served.json("/api/syncs/1/runs?page=2")
      #expect(api["page"] == .int(2) && api["pages"] == .int(2) && api["total"] == .int(52))
      #expect(api["truncated"] == .bool(false))
      guard case let .array(older)? = api["runs"] else {
        Issue.record("no runs in \(api)")
        return
      }
      #expect(older.map { $0["id"] } == [.int(2), .int(1)])
      #expect(try await served.json("/api/syncs/1/runs")["truncated"] == .bool(true))

      // 250 failed rows: 100, 100 and 50, in the order they failed, none twice.
      var keys: [String] = []
      for page in 1...3 {
        let run = try await served.get("/runs/1?page=\(page)")
        #expect(run.body.contains("page \(page) of 3"))
        let cells = run.body.components(separatedBy: "<td>add</td><td>").dropFirst()
        keys += cells.compactMap { $0.split(separator: "<").first.map(String.init) }
        #expect(cells.count == (page < 3 ? 100 : 50))
      }
      #expect(Set(keys).count == 250)
      #expect(Set(keys) == Set((1...250).map(String.init)))
      let json = try await served.json("/api/runs/1?page=3")
      #expect(json["failed_rows"]?["total"] == .int(250) && json["failed_rows"]?["page"] == .int(3))
      guard case let .array(sample)? = json["failed_rows"]?["sample"] else {
        Issue.record("no sample in \(json)")
        return
      }
      #expect(sample.count == 50)
    }
  }
}
