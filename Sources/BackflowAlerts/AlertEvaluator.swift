import BackflowConfig
import BackflowState
import Foundation

/// What one sync's alerts are judged on after a run: the run's figures and the rows queried by
/// the completed runs before it.
public struct AlertFacts: Sendable, Equatable {
  /// The run; `nil` when the sync could not run at all (its plan failed).
  public var runID: Int?
  /// The sync-level error that stopped the run (or its plan), if any.
  public var error: String?
  /// Rows attempted and failed, over every operation; `nil` without a run.
  public var attempted: Int?
  public var failed: Int
  public var rowsQueried: Int?
  /// The run's duration in whole seconds, when its start and end are known.
  public var seconds: Int?
  /// Rows queried by the earlier completed runs, newest first.
  public var history: [Int]

  public init(
    runID: Int?, error: String?, attempted: Int?, failed: Int = 0, rowsQueried: Int?, seconds: Int?,
    history: [Int] = []
  ) {
    self.runID = runID
    self.error = error
    self.attempted = attempted
    self.failed = failed
    self.rowsQueried = rowsQueried
    self.seconds = seconds
    self.history = history
  }

  /// The facts of a finished run; `earlier` are runs of the same sync before it, newest first.
  public init(run: RunRecord, earlier: [RunRecord]) {
    let failed = run.failed.total
    // Rows that failed before they were sent (duplicate keys) count as attempted: they were rejected.
    self.init(
      runID: run.id, error: run.status == .failed ? run.error : nil, attempted: max(run.attempted.total, failed),
      failed: failed, rowsQueried: run.rowsQueried, seconds: Self.seconds(from: run.startedAt, to: run.finishedAt),
      history: earlier.filter { $0.id < run.id && Self.isCompleted($0) }.map(\.rowsQueried))
  }

  /// A sync that did not get as far as a run: only `failure` can be judged.
  public init(planError: String) {
    self.init(runID: nil, error: planError, attempted: nil, rowsQueried: nil, seconds: nil)
  }

  /// Runs that got to the end: succeeded, or finished with failed rows but no sync-level error.
  public static func isCompleted(_ run: RunRecord) -> Bool {
    run.status == .succeeded || (run.status == .failed && run.error == nil)
  }

  static func seconds(from start: String, to end: String?) -> Int? {
    guard let end, let started = try? Date(start, strategy: .iso8601), let finished = try? Date(end, strategy: .iso8601)
    else { return nil }
    return max(0, Int(finished.timeIntervalSince(started).rounded()))
  }
}

/// What a rule makes of one run's facts.
public enum AlertReading: Sendable, Equatable {
  /// The condition holds; the figure says by how much.
  case holds(figure: String)
  /// The condition does not hold.
  case clear(figure: String)
  /// Nothing to judge by (no rows attempted, too few earlier runs): an open alert stays open,
  /// a closed one stays closed.
  case unknown
}

/// A change to one sync's alerts that a run brings.
public enum AlertChange: Sendable, Equatable {
  /// The condition started to hold: record it open and tell `channels`.
  case open(AlertRule.Condition, figure: String, threshold: String?, channels: [String])
  /// It no longer holds: record it closed and tell `channels` (none with `recovery: false`).
  case close(AlertRule.Condition, figure: String, threshold: String?, channels: [String])
  /// Open, but no rule asks for it any more (removed from config, or `notify: []`): closed without
  /// a notice.
  case drop(AlertRule.Condition)
}

/// Decides which of a sync's alerts open and close after a run. Pure: the facts and the alerts
/// open before the run go in, the changes come out; recording and sending are the caller's.
public struct AlertEvaluator: Sendable {
  /// The rules that apply to the sync (`Project.alertRules(for:)`).
  public var rules: [AlertRule]

  public init(rules: [AlertRule]) {
    self.rules = rules
  }

  /// The changes `facts` bring, given the conditions open before them. An alert that stays open,
  /// or stays closed, is no change: nothing is sent while an alert stays open.
  public func changes(_ facts: AlertFacts, open: Set<AlertRule.Condition>) -> [AlertChange] {
    var changes: [AlertChange] = []
    for rule in rules {
      let condition = rule.when.value
      let threshold = rule.threshold?.value.description
      let channels = rule.notify.map(\.value)
      switch (Self.reading(rule, facts), open.contains(condition)) {
      case let (.holds(figure), false):
        changes.append(.open(condition, figure: figure, threshold: threshold, channels: channels))
      case let (.clear(figure), true):
        changes.append(
          .close(condition, figure: figure, threshold: threshold, channels: rule.recovery.value ? channels : []))
      default:
        break
      }
    }
    let ruled = Set(rules.map(\.when.value))
    for condition in AlertRule.Condition.allCases where open.contains(condition) && !ruled.contains(condition) {
      changes.append(.drop(condition))
    }
    return changes
  }

  /// Whether `rule` holds for `facts`, and the figure that shows it.
  public static func reading(_ rule: AlertRule, _ facts: AlertFacts) -> AlertReading {
    switch rule.when.value {
    case .failure:
      if let error = facts.error { return .holds(figure: "stopped with an error: \(shortened(error))") }
      return facts.runID == nil ? .unknown : .clear(figure: "finished without a sync-level error")
    case .rejectedRows:
      guard case let .percent(limit)? = rule.threshold?.value, let attempted = facts.attempted, attempted > 0 else {
        return .unknown
      }
      let share = Double(facts.failed) * 100 / Double(attempted)
      let figure = "\(AlertThreshold.format(percent: share)) of rows rejected (\(facts.failed) of \(attempted))"
      return share > limit ? .holds(figure: figure) : .clear(figure: figure)
    case .volumeDrop:
      guard case let .percent(limit)? = rule.threshold?.value, let rows = facts.rowsQueried,
        facts.history.count >= rule.runCount
      else { return .unknown }
      let window = facts.history.prefix(rule.runCount)
      let mean = Double(window.reduce(0, +)) / Double(window.count)
      let drop = mean > 0 ? max(0, (mean - Double(rows)) * 100 / mean) : 0
      let meanText = mean.rounded() == mean ? String(Int(mean)) : String(format: "%.1f", mean)
      let figure =
        "\(rows) rows queried, \(AlertThreshold.format(percent: drop)) below the mean of \(meanText) "
        + "over the last \(window.count) completed runs"
      return Double(rows) < mean * (100 - limit) / 100 ? .holds(figure: figure) : .clear(figure: figure)
    case .slow:
      guard case let .duration(limit)? = rule.threshold?.value, let seconds = facts.seconds else { return .unknown }
      let figure = "took \(describe(seconds: seconds))"
      return seconds > limit.seconds ? .holds(figure: figure) : .clear(figure: figure)
    }
  }

  /// `1h 2m 5s`, `12m 5s`, `1h`, `45s`, `0s`.
  public static func describe(seconds: Int) -> String {
    let parts = [(seconds / 3600, "h"), (seconds % 3600 / 60, "m"), (seconds % 60, "s")]
    let text = parts.filter { $0.0 > 0 }.map { "\($0.0)\($0.1)" }.joined(separator: " ")
    return text.isEmpty ? "0s" : text
  }

  /// An error as a figure: one line, at most 300 characters.
  static func shortened(_ error: String) -> String {
    let line = error.split(whereSeparator: \.isNewline).joined(separator: " ")
    return line.count > 300 ? String(line.prefix(299)) + "…" : line
  }
}
