import BackflowAlerts
import BackflowConfig
import BackflowState

/// Alerts after each run (docs/alerts.md): judged while the sync's lock is held, delivered after.
extension Engine {
  /// Opens and closes the alerts of the sync `outcome` ran; notes for the run's output.
  func judgeAlerts(_ outcome: SyncOutcome) -> [String] {
    guard let run = outcome.run, let id = outcome.id, let sync = project.sync(named: outcome.name) else { return [] }
    return AlertMonitor(project: project, state: state, unreachable: unreachableChannels).judge(sync, syncID: id, run: run)
  }

  /// Judges the `failure` alert of a sync that could not be planned, holding its lock (taken by
  /// `lockBeforePlanning`), and delivers what is waiting. A sync without an ID yet has no alerts.
  public func recordPlanFailure(syncNamed name: String, syncID: Int?, error: String) async -> [String] {
    guard let syncID, heldLocks[name] != nil, let sync = project.sync(named: name) else { return [] }
    let notes = AlertMonitor(project: project, state: state, unreachable: unreachableChannels).judge(
      sync, syncID: syncID, planError: error)
    return notes + (await deliverNotifications())
  }

  /// Delivers the notifications waiting in the state store; a note for each one not delivered.
  public func deliverNotifications() async -> [String] {
    await AlertMonitor(project: project, state: state, unreachable: unreachableChannels).deliver()
  }
}
