import BackflowConfig

/// The order of one `apply --due` invocation, as a state machine: which syncs may start, and which
/// followers a failure skips. Pure, so dependency order is tested without running anything.
///
/// A follower starts once every leader that is part of the invocation has finished a run in it:
/// successfully, or in any way with `after_failure: run`. A leader that failed skips a follower
/// with `after_failure: skip`; a leader that was skipped, or never started because the invocation
/// stopped, finished no run, so it skips its followers whatever their `after_failure`.
public struct DueRunOrder: Sendable {
  public enum State: Sendable, Hashable {
    case waiting
    case running
    case succeeded
    case failed
    /// Not run, and why.
    case skipped(String)
  }

  /// A follower that will not run, and why.
  public struct Skip: Sendable, Hashable {
    public var name: String
    public var reason: String

    public init(name: String, reason: String) {
      self.name = name
      self.reason = reason
    }
  }

  /// Every sync of the invocation, by name, in the order they are considered (by name).
  public let syncs: [String]
  /// The leaders each follower waits for, limited to syncs of the invocation.
  public let leaders: [String: [String]]
  private let onFailure: [String: Schedule.AfterFailure]
  public private(set) var states: [String: State]

  public init(syncs: [String], leaders: [String: [String]], onFailure: [String: Schedule.AfterFailure] = [:]) {
    self.syncs = syncs
    self.leaders = leaders
    self.onFailure = onFailure
    states = Dictionary(uniqueKeysWithValues: syncs.map { ($0, State.waiting) })
  }

  /// How many syncs are running.
  public var running: Int { states.values.count { $0 == .running } }

  /// Whether every sync has finished or been skipped.
  public var isFinished: Bool { !states.values.contains { $0 == .waiting || $0 == .running } }

  /// Marks as running, and returns, the waiting syncs whose leaders have all finished, while fewer
  /// than `parallel` syncs run.
  public mutating func start(parallel: Int) -> [String] {
    var started: [String] = []
    for name in syncs where running < max(parallel, 1) && states[name] == .waiting && isReady(name) {
      states[name] = .running
      started.append(name)
    }
    return started
  }

  /// Records how a running sync ended, and returns the followers this skips (transitively).
  public mutating func finish(_ name: String, succeeded: Bool) -> [Skip] {
    states[name] = succeeded ? .succeeded : .failed
    return succeeded ? [] : skipFollowers(of: name)
  }

  /// Records that a sync started did not run after all (another process holds it, or ran it), and
  /// returns the followers this skips (transitively).
  public mutating func skip(_ name: String, because reason: String) -> [Skip] {
    states[name] = .skipped(reason)
    return skipFollowers(of: name)
  }

  /// Skips every sync that has not started, as when the invocation is stopped; returns them.
  public mutating func stop(because reason: String) -> [Skip] {
    var skipped: [Skip] = []
    for name in syncs where states[name] == .waiting {
      states[name] = .skipped(reason)
      skipped.append(Skip(name: name, reason: reason))
    }
    return skipped
  }

  /// The syncs in dependency levels: each level only follows syncs of earlier levels. This is the
  /// order when nothing fails and `parallel` is unbounded.
  public var levels: [[String]] {
    var copy = self
    var result: [[String]] = []
    while true {
      let level = copy.start(parallel: Int.max)
      guard !level.isEmpty else { return result }
      for name in level { _ = copy.finish(name, succeeded: true) }
      result.append(level)
    }
  }

  private func isReady(_ name: String) -> Bool {
    (leaders[name] ?? []).allSatisfy { states[$0] == .succeeded || states[$0] == .failed }
  }

  private mutating func skipFollowers(of name: String) -> [Skip] {
    var skipped: [Skip] = []
    let failed = states[name] == .failed
    for follower in syncs where states[follower] == .waiting && (leaders[follower] ?? []).contains(name) {
      if failed, onFailure[follower] == .run { continue }
      let reason = failed ? "\(name) failed" : "\(name) was skipped"
      states[follower] = .skipped(reason)
      skipped.append(Skip(name: follower, reason: reason))
      skipped += skipFollowers(of: follower)
    }
    return skipped
  }
}
