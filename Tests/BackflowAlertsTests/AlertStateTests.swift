import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Open alerts and the outbox in both state databases, read through separate connections as two
/// processes would.
@Suite("Alert state")
struct AlertStateTests {
  @Test(arguments: Backend.allCases)
  func aNotificationIsClaimedByOneConnectionAtATime(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    let one = try scenario.openState(writing: true)
    let other = try scenario.openState(writing: true)
    try one.recordAlertChanges(
      syncID: 1, opened: [], closed: [],
      notifications: [("oncall", "alert.opened", #"{"event":"alert.opened"}"#), ("hooks", "alert.opened", "{}")])

    let claimed = try one.claimNotifications(claimant: "one")
    #expect(claimed.map(\.channel) == ["oncall", "hooks"])
    #expect(try other.claimNotifications(claimant: "other").isEmpty)

    // A failure releases the claim, a delivery removes the notification.
    try one.notificationFailed(id: claimed[0].id, error: "HTTP 503")
    try one.removeNotification(id: claimed[1].id)
    let again = try other.claimNotifications(claimant: "other")
    #expect(again.map(\.channel) == ["oncall"] && again.map(\.attempts) == [1] && again.map(\.lastError) == ["HTTP 503"])
    #expect(try one.claimNotifications(claimant: "one").isEmpty)

    // A claim older than the stale limit belongs to a process that stopped: it is taken over.
    #expect(try one.claimNotifications(claimant: "one", staleAfter: -60).map(\.channel) == ["oncall"])
    #expect(try other.pendingNotifications().count == 1)
  }

  @Test(arguments: Backend.allCases)
  func openAlertsAreSharedAndOnlyOfActiveSyncs(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert([(1, "a@example.com", "A", "pro")])
    try await scenario.apply()
    let id = try scenario.syncRecord().id
    let writer = try scenario.openState(writing: true)
    let alert = AlertRecord(
      syncID: id, syncName: "users_to_crm", alert: "slow", openedAt: "2026-12-05T14:00:00Z", runID: nil,
      figure: "took 11m", threshold: "10m")
    try writer.recordAlertChanges(syncID: id, opened: [alert], closed: [], notifications: [])
    #expect(try scenario.openState().openAlerts() == [alert])
    #expect(try scenario.openState().openAlerts(syncID: id + 1).isEmpty)
    try writer.recordAlertChanges(syncID: id, opened: [], closed: ["slow"], notifications: [])
    #expect(try scenario.openState().openAlerts().isEmpty)

    try writer.recordAlertChanges(syncID: id, opened: [alert], closed: [], notifications: [])
    try writer.retire(syncID: id)
    #expect(try scenario.openState().openAlerts().isEmpty)
    #expect(try scenario.openState().openAlerts(syncID: id).count == 1)
  }
}
