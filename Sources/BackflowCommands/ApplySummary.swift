import BackflowConfig
import BackflowEngine
import BackflowState

/// An apply's outcomes as Markdown, for the GitHub job summary: the totals first, then a table
/// with one row per sync.
struct ApplySummary {
  let outcomes: [SyncOutcome]
  /// Whether a signal stopped the apply.
  let cancelled: Bool

  func markdown() -> String {
    let failed = outcomes.count { !$0.succeeded }
    let runs = outcomes.compactMap(\.run)
    let succeededRows = runs.reduce(0) { $0 + $1.succeeded.total }
    let failedRows = runs.reduce(0) { $0 + $1.failed.total }
    let abortedRows = runs.reduce(0) { $0 + $1.aborted.total }
    var lines = ["### Backflow apply \(cancelled ? "stopped" : failed > 0 ? "failed" : "complete")", ""]
    var totals = "**\(plural(outcomes.count, "sync"))**: \(outcomes.count - failed) succeeded"
    if failed > 0 { totals += ", **\(failed) failed**" }
    totals += " · rows: **\(succeededRows)** succeeded, **\(failedRows)** failed, **\(abortedRows)** aborted"
    lines.append(totals)
    if cancelled {
      lines += ["", "Stopped by a signal: rows not attempted are recorded as aborted and retried by the next run."]
    }
    let unlogged = outcomes.count { $0.logError != nil }
    if unlogged > 0 {
      lines += ["", "**Sync logs not written for \(plural(unlogged, "sync"))** (their runs are recorded in state)."]
    }
    lines.append("")
    guard !outcomes.isEmpty else { return (lines + ["Nothing to apply.", ""]).joined(separator: "\n") }
    lines.append("| sync | run | status | add | change | remove | succeeded | failed | aborted | notes |")
    lines.append("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for outcome in outcomes { lines.append(row(outcome)) }
    lines.append("")
    return lines.joined(separator: "\n")
  }

  private func row(_ outcome: SyncOutcome) -> String {
    let name = "`\(outcome.name)`" + (outcome.id.map { " #\($0)" } ?? "")
    var notes = outcome.notes
    if let error = outcome.run?.error ?? outcome.error { notes.insert("error: \(error)", at: 0) }
    if let logError = outcome.logError { notes.append("sync logs: \(logError)") }
    let note = notes.map(MarkdownBudget.escaped).joined(separator: "; ")
    guard let run = outcome.run else {
      let status =
        outcome.configAction == .retire ? "retired" : outcome.error != nil ? "❌ error" : "config only"
      return "| " + ([name, "", status] + Array(repeating: "", count: 6) + [note]).joined(separator: " | ") + " |"
    }
    let status =
      switch run.status {
      case .succeeded: "✅ succeeded"
      case .failed: "❌ failed"
      case .aborted: "⚠️ aborted"
      case .running: "running"
      }
    let counts = [
      run.planned.add, run.planned.change, run.planned.remove, run.succeeded.total, run.failed.total,
      run.aborted.total,
    ]
    return "| \(name) | \(run.id) | \(status) | " + counts.map(String.init).joined(separator: " | ") + " | \(note) |"
  }
}
