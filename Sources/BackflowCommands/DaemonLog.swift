import BackflowConfig
import BackflowEngine
import BackflowState
import Foundation

/// What `backflow daemon` prints: one line per event, each starting with its UTC time, as text or
/// JSON Lines (docs/schedules.md lists both).
final class DaemonLog: @unchecked Sendable {
  private let format: HistoryFormat
  private let quiet: Bool
  private let lock = NSLock()
  private let now: @Sendable () -> Date

  init(format: HistoryFormat, quiet: Bool, now: @escaping @Sendable () -> Date = Date.init) {
    self.format = format
    self.quiet = quiet
    self.now = now
  }

  /// Prints `event`'s line, credentials masked, and flushes, so a log file or pipe sees it at once.
  /// With `--quiet`, only runs, skips and errors.
  func write(_ event: DaemonEvent) {
    guard !quiet || event.isResult else { return }
    let time = now().formatted(.iso8601)
    let line =
      switch format {
      case .text: time + " " + Self.text(event)
      case .json: Self.json(event, time: time).rendered(compact: true)
      }
    lock.withLock {
      print(Redaction.redact(line))
      fflush(nil)
    }
  }

  static func text(_ event: DaemonEvent) -> String {
    switch event {
    case let .started(syncs): return "daemon started: \(plural(syncs, "sync"))"
    case let .reloaded(syncs): return "config reloaded: \(plural(syncs, "sync"))"
    case let .reloadRejected(errors):
      let first = errors.first.map { ": \($0.location): \($0.message)" } ?? ""
      let more = errors.count > 1 ? " (and \(plural(errors.count - 1, "more error")); `backflow validate` lists them)" : ""
      return "config not reloaded, the previous config stays in force\(first)\(more)".flattened
    case let .ran(outcome, seconds): return "sync " + runText(outcome, seconds: seconds).flattened
    case let .skipped(skip): return "sync \(skip.name): skipped: \(skip.reason)"
    case let .waiting(until, syncs):
      return "waiting: \(syncs.joined(separator: ", ")) due at \(until.formatted(.iso8601))"
    case .idle: return "waiting: no sync runs on a clock; a config change or a signal wakes the daemon"
    case let .stateUnavailable(message, retry):
      return "error: state store: \(message); trying again at \(retry.formatted(.iso8601))".flattened
    case .stopping: return "stopping: batches in flight finish and every row is recorded; a second signal quits at once"
    case .stopped: return "daemon stopped"
    }
  }

  private static func runText(_ outcome: SyncOutcome, seconds: Double) -> String {
    let id = outcome.id.map { "ID \($0)" } ?? "no ID"
    let duration = String(format: " in %.2fs", seconds)
    // Alerts opened or closed, notifications not delivered, locks taken over.
    let notes = outcome.notes.map { "; \($0)" }.joined()
    guard let run = outcome.run else {
      if let error = outcome.error { return "\(outcome.name) (\(id)): error\(duration): \(error)\(notes)" }
      return "\(outcome.name) (\(id)): no rows planned\(duration)\(notes)"
    }
    var line = "\(outcome.name) (\(id), run \(run.id)): \(run.status.rawValue)\(duration)"
    line += " - \(run.planned.add) to add, \(run.planned.change) to change, \(run.planned.remove) to remove"
    line += "; \(run.succeeded.total) succeeded, \(run.failed.total) failed, \(run.aborted.total) aborted"
    if let error = run.error ?? outcome.error { line += "; error: \(error)" }
    if let logError = outcome.logError { line += "; sync logs not written: \(logError)" }
    return line + notes
  }

  static func json(_ event: DaemonEvent, time: String) -> JSONValue {
    var members: [(String, JSONValue)] = [("format_version", .int(1)), ("time", .string(time))]
    switch event {
    case let .started(syncs): members += [("event", .string("started")), ("syncs", .int(syncs))]
    case let .reloaded(syncs): members += [("event", .string("reloaded")), ("syncs", .int(syncs))]
    case let .reloadRejected(errors):
      members += [
        ("event", .string("reload_rejected")),
        ("errors", .array(errors.map { .object([("location", .string("\($0.location)")), ("message", .string($0.message))]) })),
      ]
    case let .ran(outcome, seconds):
      let run = outcome.run
      func counts(_ counts: OperationCounts?) -> JSONValue {
        counts.map { .object([("add", .int($0.add)), ("change", .int($0.change)), ("remove", .int($0.remove))]) } ?? .null
      }
      members += [
        ("event", .string("run")),
        ("sync", .string(outcome.name)),
        ("sync_id", outcome.id.map(JSONValue.int) ?? .null),
        ("run_id", run.map { .int($0.id) } ?? .null),
        ("status", .string(run?.status.rawValue ?? (outcome.error == nil ? "no_rows" : "error"))),
        ("seconds", .number(String(format: "%.3f", seconds))),
        ("planned", counts(run?.planned)),
        ("succeeded", counts(run?.succeeded)),
        ("failed", counts(run?.failed)),
        ("aborted", counts(run?.aborted)),
        ("error", (run?.error ?? outcome.error).map(JSONValue.string) ?? .null),
        ("log_error", outcome.logError.map(JSONValue.string) ?? .null),
        ("notes", .array(outcome.notes.map(JSONValue.string))),
      ]
    case let .skipped(skip):
      members += [("event", .string("skipped")), ("sync", .string(skip.name)), ("reason", .string(skip.reason))]
    case let .waiting(until, syncs):
      members += [
        ("event", .string("waiting")), ("until", .string(until.formatted(.iso8601))),
        ("syncs", .array(syncs.map(JSONValue.string))),
      ]
    case .idle: members += [("event", .string("idle"))]
    case let .stateUnavailable(message, retry):
      members += [
        ("event", .string("state_unavailable")), ("error", .string(message)),
        ("retry_at", .string(retry.formatted(.iso8601))),
      ]
    case .stopping: members += [("event", .string("stopping"))]
    case .stopped: members += [("event", .string("stopped"))]
    }
    return .object(members)
  }
}

extension DaemonEvent {
  /// What `--quiet` keeps.
  fileprivate var isResult: Bool {
    switch self {
    case .ran, .skipped, .reloadRejected, .stateUnavailable: true
    case .started, .reloaded, .waiting, .idle, .stopping, .stopped: false
    }
  }
}

extension String {
  /// On one line: a log line per event, even for a multi-line error.
  fileprivate var flattened: String {
    split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
  }
}
