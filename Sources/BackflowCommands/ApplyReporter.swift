import BackflowConfig
import BackflowEngine
import BackflowState
import Foundation

/// What `apply` prints: a live progress line per sync at a terminal, and a one-line summary per
/// sync in every mode.
final class ApplyReporter: ApplyObserver {
  private let terminal: Terminal
  private let quiet: Bool
  private let live: Bool
  private var started = ContinuousClock.now
  private var lastDrawn = ContinuousClock.now

  init(terminal: Terminal, quiet: Bool) {
    self.terminal = terminal
    self.quiet = quiet
    live = isatty(STDOUT_FILENO) == 1 && !quiet
  }

  func syncStarted(_ name: String, run: RunRecord) {
    started = .now
    lastDrawn = .now
    if live { draw(name, run: run) }
  }

  func syncProgress(_ name: String, run: RunRecord) {
    guard live, ContinuousClock.now - lastDrawn > .milliseconds(100) else { return }
    lastDrawn = .now
    draw(name, run: run)
  }

  func syncFinished(_ outcome: SyncOutcome) {
    if live { print("\r\u{1B}[K", terminator: "") }
    print(summary(outcome))
    if !quiet {
      for note in outcome.notes { print("  \(note)") }
    }
    if let logError = outcome.logError { print("  " + terminal.paint("error: \(logError)", .red)) }
    fflush(nil)
  }

  /// The closing line: how many syncs succeeded.
  func finish(_ outcomes: [SyncOutcome], cancelled: Bool) {
    let failed = outcomes.filter { !$0.succeeded }.count
    var line = "\nApply \(cancelled ? "stopped" : "complete"): \(plural(outcomes.count - failed, "sync")) succeeded"
    if failed > 0 { line += ", " + terminal.paint("\(failed) failed", .red) }
    if cancelled { line += "; rows not attempted are recorded as aborted and retried by the next run" }
    let unlogged = outcomes.filter { $0.logError != nil }.count
    if unlogged > 0 {
      line += "; " + terminal.paint("sync logs not written for \(plural(unlogged, "sync"))", .red)
        + " (their runs are recorded in state)"
    }
    print(line + ".")
  }

  private func draw(_ name: String, run: RunRecord) {
    let done = run.succeeded.total + run.failed.total
    let seconds = (ContinuousClock.now - started).inSeconds
    let rate = seconds > 0 ? Int(Double(done) / seconds) : 0
    var line = "\r\u{1B}[K\(terminal.paint(name, .bold)): \(done)/\(run.planned.total) sent, \(rate) rows/s"
    if run.failed.total > 0 { line += ", " + terminal.paint("\(run.failed.total) failed", .red) }
    print(line, terminator: "")
    fflush(nil)
  }

  private func summary(_ outcome: SyncOutcome) -> String {
    let id = outcome.id.map { "ID \($0)" } ?? "no ID"
    let head = terminal.paint(outcome.name, .bold)
    guard let run = outcome.run else {
      if outcome.configAction == .retire { return "\(head) (\(id)): retired" }
      if let error = outcome.error { return "\(head) (\(id)): " + terminal.paint("error: \(error)", .red) }
      return "\(head) (\(id)): config \(outcome.configAction == .none ? "unchanged" : "recorded"), no rows planned"
    }
    let status =
      switch run.status {
      case .succeeded: terminal.paint("succeeded", .green)
      case .failed: terminal.paint("failed", .red)
      case .aborted: terminal.paint("aborted", .yellow)
      case .running: "running"
      }
    var line = "\(head) (\(id), run \(run.id)): \(status) in \(Self.format(seconds: (ContinuousClock.now - started).inSeconds))"
    guard run.planned.total > 0 || run.error != nil else { return line + " - nothing to send" }
    line += " - \(run.planned.add) to add, \(run.planned.change) to change, \(run.planned.remove) to remove"
    line += "; " + terminal.paint("\(run.succeeded.total) succeeded", .green)
    if run.failed.total > 0 { line += ", " + terminal.paint("\(run.failed.total) failed", .red) }
    if run.aborted.total > 0 { line += ", " + terminal.paint("\(run.aborted.total) aborted", .yellow) }
    if let error = run.error ?? outcome.error { line += "\n  " + terminal.paint("error: \(error)", .red) }
    return line
  }

  private static func format(seconds: Double) -> String {
    seconds < 10 ? String(format: "%.2fs", seconds) : String(format: "%.0fs", seconds)
  }
}
