import BackflowConfig
import BackflowState
import Foundation

/// Judges a sync's alerts after each run and delivers what is waiting, through the state store,
/// so that every process on the store (CI runs, daemons) shares open alerts and the outbox.
///
/// Nothing here fails a sync: what goes wrong comes back as notes for the run's output.
public struct AlertMonitor {
  /// How long an undelivered notification is retried before it is given up.
  public static let retention: TimeInterval = 24 * 3600

  public let project: Project
  public let state: StateStore
  public var sender = NotificationSender()
  /// Channels that failed earlier in this command: not tried again until the next one.
  public var unreachable: UnreachableChannels

  public init(project: Project, state: StateStore, unreachable: UnreachableChannels = UnreachableChannels()) {
    self.project = project
    self.state = state
    self.unreachable = unreachable
  }

  /// Opens and closes `sync`'s alerts after `run`, recording the notifications to send. Call it
  /// holding the sync's lock, so no other process judges the same sync at once.
  public func judge(_ sync: Sync, syncID: Int, run: RunRecord) -> [String] {
    judge(sync, syncID: syncID) { rules in
      let longest = rules.filter { $0.when.value == .volumeDrop }.map(\.runCount).max() ?? 0
      // Enough runs to find `longest` completed ones before this run, failed ones among them.
      let earlier = longest == 0 ? [] : try state.runs(syncID: syncID, limit: longest * 4 + 20)
      return AlertFacts(run: run, earlier: earlier)
    }
  }

  /// As `judge(_:syncID:run:)` for a sync that could not run at all: only `failure` is judged.
  public func judge(_ sync: Sync, syncID: Int, planError: String) -> [String] {
    judge(sync, syncID: syncID) { _ in AlertFacts(planError: planError) }
  }

  private func judge(_ sync: Sync, syncID: Int, facts: ([AlertRule]) throws -> AlertFacts) -> [String] {
    let rules = project.alertRules(for: sync)
    do {
      let open = try state.openAlerts(syncID: syncID)
      guard !rules.isEmpty || !open.isEmpty else { return [] }
      let facts = try facts(rules)
      let changes = AlertEvaluator(rules: rules).changes(
        facts, open: Set(open.compactMap { AlertRule.Condition(rawValue: $0.alert) }))
      return try record(changes, sync: sync.name.value, syncID: syncID, runID: facts.runID)
    } catch {
      return ["alerts: could not judge the alerts of this run: \(error)"]
    }
  }

  private func record(_ changes: [AlertChange], sync: String, syncID: Int, runID: Int?) throws -> [String] {
    var opened: [AlertRecord] = []
    var closed: [String] = []
    var outbox: [(channel: String, event: String, payload: String)] = []
    var notes: [String] = []
    let now = Date().formatted(.iso8601)
    func send(_ kind: AlertEvent.Kind, _ condition: AlertRule.Condition, _ figure: String, _ threshold: String?, to channels: [String]) {
      let event = AlertEvent(
        event: kind, alert: condition.rawValue, sync: sync, syncID: syncID, runID: runID, figure: figure,
        threshold: threshold, occurredAt: now)
      outbox += channels.map { (channel: $0, event: kind.rawValue, payload: event.payload) }
    }
    for change in changes {
      switch change {
      case let .open(condition, figure, threshold, channels):
        opened.append(
          AlertRecord(
            syncID: syncID, syncName: sync, alert: condition.rawValue, openedAt: now, runID: runID, figure: figure,
            threshold: threshold))
        send(.opened, condition, figure, threshold, to: channels)
        notes.append("alert \(condition.rawValue) opened: \(figure)\(threshold.map { " (threshold \($0))" } ?? ""); notifying \(channels.joined(separator: ", "))")
      case let .close(condition, figure, threshold, channels):
        closed.append(condition.rawValue)
        send(.closed, condition, figure, threshold, to: channels)
        notes.append("alert \(condition.rawValue) closed: \(figure)" + (channels.isEmpty ? "" : "; notifying \(channels.joined(separator: ", "))"))
      case let .drop(condition):
        closed.append(condition.rawValue)
        notes.append("alert \(condition.rawValue) closed without a notice: no alert of the project or the sync asks for it now")
      }
    }
    try state.recordAlertChanges(syncID: syncID, opened: opened, closed: closed, notifications: outbox)
    return notes
  }

  /// Delivers every notification waiting in the store that no other process is delivering:
  /// what this run recorded and what earlier runs could not deliver. Returns a note for each
  /// one not delivered; it stays for the next run, up to `retention`, then is given up.
  public func deliver() async -> [String] {
    let claimant = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString)"
    let pending: [PendingNotification]
    do {
      pending = try state.claimNotifications(claimant: claimant)
    } catch {
      return ["notifications: could not read the undelivered ones from the state store: \(error)"]
    }
    var notes: [String] = []
    for notification in pending {
      let what = "\(notification.event) notification to \(notification.channel)"
      do {
        guard let event = AlertEvent(payload: notification.payload) else {
          try state.removeNotification(id: notification.id)
          notes.append("\(what) was dropped: it is not one this Backflow reads")
          continue
        }
        let about = event.sync.map { " (\(event.alert ?? "alert") on sync \($0))" } ?? ""
        guard let channel = project.notificationChannel(named: notification.channel) else {
          try state.removeNotification(id: notification.id)
          notes.append("\(what)\(about) was dropped: no channel \(notification.channel) is declared under notifications")
          continue
        }
        if let created = try? Date(notification.createdAt, strategy: .iso8601),
          Date().timeIntervalSince(created) > Self.retention
        {
          try state.removeNotification(id: notification.id)
          notes.append(
            "\(what)\(about) was given up after 24 hours undelivered; last error: \(notification.lastError ?? "none")")
          continue
        }
        if let failure = unreachable.failure(of: notification.channel) {
          // It failed moments ago in this pass: waiting for its time-out again would gain nothing.
          try state.releaseNotification(id: notification.id)
          notes.append("did not try the \(what)\(about): the channel failed moments ago (\(failure)); it is retried after the next run")
          continue
        }
        do {
          try await sender.send(event, to: channel)
          try state.removeNotification(id: notification.id)
        } catch {
          unreachable.record("\(error)", for: notification.channel)
          try state.notificationFailed(id: notification.id, error: "\(error)")
          notes.append("could not deliver the \(what)\(about): \(error); it is retried after the next run")
        }
      } catch {
        notes.append("notifications: the state store failed while delivering the \(what): \(error)")
      }
    }
    return notes
  }
}

/// The channels that could not be reached during one command (an apply, one round of `apply
/// --due` or of the daemon), with why: their notifications wait for the next command instead of
/// each waiting for the same time-out. Shared by the engines of one round.
public final class UnreachableChannels: @unchecked Sendable {
  private let lock = NSLock()
  private var failures: [String: String] = [:]

  public init() {}

  public func failure(of channel: String) -> String? { lock.withLock { failures[channel] } }

  public func record(_ failure: String, for channel: String) { lock.withLock { failures[channel] = failure } }
}
