import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

@testable import BackflowCommands

/// The GitHub job summary of `apply`, and cutting Markdown to GitHub's limits.
@Suite("GitHub step summary")
struct StepSummaryTests {
  static func outcome(
    _ name: String, id: Int, status: RunRecord.Status, planned: OperationCounts, failed: Int = 0, error: String? = nil
  ) -> SyncOutcome {
    var outcome = SyncOutcome(name: name, configAction: .none)
    outcome.id = id
    outcome.run = RunRecord(
      id: id * 10, syncID: id, status: status, error: error, startedAt: "2024-05-01T12:00:00Z", gitCommit: nil,
      rowsQueried: planned.total, planned: planned, attempted: planned,
      succeeded: OperationCounts(add: planned.add - failed, change: planned.change, remove: planned.remove),
      failed: OperationCounts(add: failed))
    return outcome
  }

  @Test func applySummaryLeadsWithTheTotalsThenATableOfOutcomes() {
    var retired = SyncOutcome(name: "old_export", configAction: .retire)
    retired.id = 3
    retired.notes = ["retired: the destination's records are left as they are"]
    let markdown = ApplySummary(
      outcomes: [
        Self.outcome("users_to_crm", id: 1, status: .succeeded, planned: OperationCounts(add: 3, change: 1)),
        Self.outcome(
          "newsletter", id: 2, status: .failed, planned: OperationCounts(add: 5), failed: 2,
          error: "2 rows failed | see `backflow errors`"),
        retired,
      ], cancelled: false
    ).markdown()
    #expect(
      markdown.hasPrefix(
        """
        ### Backflow apply failed

        **3 syncs**: 2 succeeded, **1 failed** · rows: **7** succeeded, **2** failed, **0** aborted

        | sync | run | status | add | change | remove | succeeded | failed | aborted | notes |
        | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
        | `users_to_crm` #1 | 10 | ✅ succeeded | 3 | 1 | 0 | 4 | 0 | 0 |  |
        | `newsletter` #2 | 20 | ❌ failed | 5 | 0 | 0 | 3 | 2 | 0 | error: 2 rows failed \\| see `backflow errors` |
        | `old_export` #3 |  | retired |  |  |  |  |  |  | retired: the destination's records are left as they are |

        """))
    let stopped = ApplySummary(outcomes: [], cancelled: true).markdown()
    #expect(stopped.hasPrefix("### Backflow apply stopped\n\n**0 syncs**: 0 succeeded"))
    #expect(stopped.contains("Stopped by a signal"))
  }

  @Test func aHugeApplySummaryIsCutUnderOneMiBKeepingTheTotals() throws {
    try withTemporaryDirectory { directory in
      let file = directory.appendingPathComponent("summary.md")
      let reason = String(repeating: "the CRM answered 422 Unprocessable Entity ", count: 3)
      let outcomes = (0..<12_000).map {
        Self.outcome("sync_\($0)", id: $0 + 1, status: .failed, planned: OperationCounts(add: 2), failed: 1, error: reason)
      }
      let markdown = ApplySummary(outcomes: outcomes, cancelled: false).markdown()
      #expect(markdown.utf8.count > 1_048_576)
      let environment = ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": file.path]
      #expect(StepSummary.write(markdown, environment: environment))
      let written = try String(contentsOf: file, encoding: .utf8)
      #expect(written.utf8.count <= 1_048_576)
      #expect(written.hasPrefix("### Backflow apply failed\n\n**12000 syncs**: 0 succeeded, **12000 failed**"))
      #expect(written.contains("| `sync_0` #1 | 10 | ❌ failed |"))
      #expect(written.hasSuffix("was cut to stay under GitHub's 1 MiB limit for a step summary; the job log has everything.\n"))

      // The limit is per step: a second write gets only what is left, and a full file gets nothing.
      #expect(!StepSummary.write(markdown, environment: environment))
      #expect(try String(contentsOf: file, encoding: .utf8) == written)
      #expect(!StepSummary.write(markdown, environment: ["GITHUB_STEP_SUMMARY": file.path]))
    }
  }

  @Test func cuttingClosesAnOpenFenceAndFold() {
    let body = (0..<200).map { "+ line \($0)" }.joined(separator: "\n")
    let markdown = "### Plan\n\n**3 syncs**\n\n<details><summary>a</summary>\n\n```diff\n\(body)\n```\n\n</details>\n"
    let cut = MarkdownBudget.truncated(markdown, limit: 600) { "cut \($0) lines" }
    #expect(cut.utf8.count <= 600)
    #expect(cut.hasPrefix("### Plan\n\n**3 syncs**\n\n<details><summary>a</summary>\n\n```diff\n+ line 0\n"))
    #expect(cut.contains("\n```\n\n</details>\n\ncut "))
    #expect(cut.hasSuffix(" lines\n"))
    #expect(MarkdownBudget.truncated(markdown, limit: 100_000) { _ in "never" } == markdown)
    #expect(MarkdownBudget.fence(for: "a ```` b") == "`````")
  }
}
