import ArgumentParser
import BackflowConfig
import BackflowState

extension Backflow {
  /// `backflow reset-cdc`: the next run of a sync records a snapshot of the current rows and
  /// sends nothing.
  public struct ResetCDC: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "reset-cdc",
      abstract: "Make the next run record a snapshot of the current rows and send nothing.",
      discussion: """
        Records the request in state, with who asked and when; the next `plan` shows it and the \
        next `apply` carries it out. Later runs send only rows that change after it. A second \
        request replaces the first; --cancel withdraws it. Plan files made before a request are \
        refused as stale. Documented in docs/steering.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("The sync whose change tracking to reset.", valueName: "sync"))
    var sync: String

    @Flag(help: "Withdraw a pending CDC reset instead.")
    var cancel = false

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let steering = try SteeringRequest(session: session, syncName: sync, command: "reset")
      if cancel {
        let cancelled = try steering.cancel([.resetCDC])
        SteeringRequest.print(steering.cancellation(cancelled, of: .resetCDC), quiet: global.quiet)
        return
      }
      let request = PendingRequest(
        action: .resetCDC, requestedBy: SteeringRequest.requester(), requestedAt: SteeringRequest.now())
      let replaced = try steering.request(request)
      let model = steering.sync.inlineModel?.name.value ?? steering.sync.model.value
      var lines = [
        "\(steering.heading): \(request.action.noun) \(request.attribution).",
        "The next apply sends nothing to \(steering.destination): it records every current row of model \(model) "
          + "as the new snapshot, as if it had been sent. Later runs send only the rows that change after that.",
        "Records that differ from the model now stay as they are; `backflow resync \(sync)` sends every row instead.",
      ]
      lines += steering.closing(replaced: replaced)
      lines.append(
        "See it with `backflow plan --select \(sync)`; withdraw it with `backflow reset-cdc \(sync) --cancel`.")
      SteeringRequest.print(lines, quiet: global.quiet)
    }
  }
}
