import ArgumentParser
import BackflowConfig
import BackflowState

extension Backflow {
  /// `backflow alerts`: the alerts open now, and the notifications waiting to be delivered.
  public struct Alerts: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "List the open alerts, and notifications not yet delivered.",
      discussion: "Reads the state store and changes nothing. Alerts and JSON fields: docs/alerts.md.")

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Option(help: "text or json (documented in docs/alerts.md).")
    var format: HistoryFormat = .text

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let (open, pending) = try session.readingState {
        (try session.state.openAlerts(), try session.state.pendingNotifications())
      }
      print(AlertsRenderer(terminal: session.terminal).render(open, pending: pending, as: format), terminator: "")
    }
  }
}
