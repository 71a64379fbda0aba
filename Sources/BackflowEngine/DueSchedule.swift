import BackflowConfig
import BackflowState
import Foundation

/// Which syncs `apply --due` runs: those whose schedule says they are due, and every enabled sync
/// that follows one of them through `after:`, directly or not. Pure: the last runs come in.
public struct DueSchedule: Sendable {
  /// The time-driven syncs that are due, by name.
  public private(set) var due: [String] = []
  /// The syncs that run because they follow a due sync, by name.
  public private(set) var followers: [String] = []
  /// The order they run in.
  public private(set) var order: DueRunOrder

  /// Decides from `lastRuns` (the start of each sync's last run, by name) what is due at `now`.
  /// Disabled syncs never run, and do not bring their followers in.
  public init(project: Project, lastRuns: [String: Date], now: Date) {
    let enabled = project.syncs.filter(\.enabled.value).sorted { $0.name.value < $1.name.value }
    due = enabled.filter { $0.schedule.value.nextDue(lastRun: lastRuns[$0.name.value]).isDue(at: now) }.map(\.name.value)
    var included = Set(due)
    var frontier = due
    while let leader = frontier.popLast() {
      for sync in enabled {
        guard case let .after(leaders, _) = sync.schedule.value, leaders.contains(where: { $0.value == leader }),
          included.insert(sync.name.value).inserted
        else { continue }
        followers.append(sync.name.value)
        frontier.append(sync.name.value)
      }
    }
    followers.sort()
    var leaders: [String: [String]] = [:]
    var onFailure: [String: Schedule.AfterFailure] = [:]
    for sync in enabled where included.contains(sync.name.value) {
      guard case let .after(names, failure) = sync.schedule.value else { continue }
      // Leaders outside this invocation are not waited for.
      leaders[sync.name.value] = names.map(\.value).filter(included.contains)
      onFailure[sync.name.value] = failure
    }
    order = DueRunOrder(syncs: included.sorted(), leaders: leaders, onFailure: onFailure)
  }

  /// Whether nothing is due.
  public var isEmpty: Bool { due.isEmpty }

  /// The earliest instant an enabled, time-driven sync falls due, and the syncs due then; `nil`
  /// when none ever will (every sync is manual, a follower, disabled, or a cron that never matches).
  public static func next(project: Project, lastRuns: [String: Date]) -> (date: Date, syncs: [String])? {
    var next: (date: Date, syncs: [String])?
    for sync in project.syncs.sorted(by: { $0.name.value < $1.name.value }) where sync.enabled.value {
      let due = sync.schedule.value.nextDue(lastRun: lastRuns[sync.name.value])
      // A sync that never ran is due at once; `distantPast` puts it first.
      let date = due == .now ? Date.distantPast : due.date
      guard let date else { continue }
      if let current = next, current.date < date { continue }
      if let current = next, current.date == date {
        next?.syncs.append(sync.name.value)
      } else {
        next = (date, [sync.name.value])
      }
    }
    return next
  }
}

extension RunRecord {
  /// When the run started, read from state's ISO 8601 text.
  public var startDate: Date? {
    try? Date(startedAt, strategy: .iso8601)
  }
}

extension StateStore {
  /// The newest run of each sync that has not been retired, by sync name.
  public func lastRuns() throws -> [String: RunRecord] {
    var runs: [String: RunRecord] = [:]
    for record in try syncs() where record.retiredAt == nil {
      runs[record.name] = try self.runs(syncID: record.id, limit: 1).first
    }
    return runs
  }
}
