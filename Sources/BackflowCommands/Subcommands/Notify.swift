import ArgumentParser
import BackflowAlerts
import BackflowConfig

extension Backflow {
  /// `backflow notify --test NAME`: proves a channel works before an alert needs it.
  public struct Notify: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Send a test message to a notification channel.",
      discussion: """
        Sends a message with event "test" to the channel NAME declared under notifications in \
        backflow.yaml, at once, without the state store. Exits 0 when the channel took it, 1 \
        when it did not, saying why (never with its URL, secret or password).
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Option(name: .customLong("test"), help: ArgumentHelp("The channel to send a test message to.", valueName: "name"))
    var channel: String

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let names = session.project.notifications.map(\.name.value)
      guard let target = session.project.notificationChannel(named: channel) else {
        let declared = names.isEmpty ? "none is declared" : "declared: \(names.joined(separator: ", "))"
        throw CommandSession.failure(
          "there is no notification channel \"\(channel)\" under notifications in backflow.yaml (\(declared))"
            + Suggestion.hint(for: channel, in: names))
      }
      do {
        try await NotificationSender().send(.test(channel: channel), to: target)
      } catch {
        throw CommandSession.failure("could not send a test message to \(channel) (\(target.type.value.rawValue)): \(error)")
      }
      if !global.quiet { print("Sent a test message to \(channel) (\(target.type.value.rawValue)).") }
    }
  }
}
