import ArgumentParser
import BackflowConfig
import BackflowEngine
import Foundation

extension Backflow {
  /// `backflow daemon`: `apply --due` in a loop, for a machine that runs Backflow all the time.
  public struct DaemonCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "daemon",
      abstract: "Run syncs when they are due, in a loop, until stopped.",
      discussion: """
        Does what `apply --due` does, then sleeps until the next sync is due. Reloads the project \
        when backflow.yaml or a file under syncs/ changes (a config with errors is reported and \
        the previous one kept). SIGTERM or Ctrl-C stops it: batches in flight finish, every row \
        is recorded, and it exits 0; a second signal quits at once. Prints one line per run and \
        per event (docs/schedules.md).
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @OptionGroup(title: "Locking")
    var lock: LockOptions

    @Option(help: ArgumentHelp("Run up to N independent syncs at once.", valueName: "n"))
    var parallel = 1

    @Flag(help: "Apply syncs whose removals exceed their max_remove.")
    var allowMassDelete = false

    @Option(help: "text or json (JSON Lines), one line per event.")
    var logFormat: HistoryFormat = .text

    @OptionGroup(title: "Web UI (docs/web.md)")
    var web: WebOptions

    public init() {}

    public func validate() throws {
      guard parallel >= 1 else { throw ValidationError("--parallel must be 1 or more") }
      guard web.listen != nil || web.tokenFile == nil else { throw ValidationError("--token-file needs --listen") }
    }

    public func run() async throws {
      // Checks the project and creates or migrates state before the loop starts: a daemon that
      // cannot start says so at once rather than in its log.
      let session = try CommandSession(global: global, writer: BackflowVersion.current)
      var settings = Daemon.Settings(backflowVersion: BackflowVersion.current)
      settings.parallel = parallel
      settings.allowMassDelete = allowMassDelete
      settings.lockTimeout = lock.lockTimeout
      settings.stateOverride = global.state.flatMap(StateLocation.init)
      let projectURL = global.projectURL
      let log = DaemonLog(format: logFormat, quiet: global.quiet)
      let daemon = Daemon(
        loader: global.projectLoader, project: session.project, settings: settings,
        commit: { GitCommit.head(of: projectURL) }, log: log.write)
      let server = try web.listen.map { try web.server(listening: $0, session: session, global: global) }
      let cancellation = Cancellation()
      let signals = SignalTrap(cancellation: cancellation) { log.write(.stopping) }
      defer { signals.release() }
      await WebOptions.serving(server) { await daemon.run(cancellation: cancellation) }
    }
  }
}
