import ArgumentParser
import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import Foundation

extension Backflow {
  /// `backflow apply`: makes the destinations match the models, sending only what changed.
  public struct Apply: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Send each sync's added, changed and removed rows, and record the run.",
      discussion: """
        With a plan file (from `plan --out`), executes exactly that plan, or refuses it if state \
        or config changed since. Without one, plans, shows the plan and asks at a terminal; \
        elsewhere it needs --auto-approve. Exits 0 when every row succeeded, 1 when any row \
        failed or a sync could not run. Ctrl-C stops taking new batches and records what was \
        sent; rows not attempted are retried by the next run.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("A plan file written by `backflow plan --out`.", valueName: "plan-file"))
    var planFile: String?

    @Option(
      parsing: .upToNextOption,
      help: ArgumentHelp("Apply only these syncs; NAME+ adds the syncs that run after NAME.", valueName: "sync"))
    var select: [String] = []

    @Flag(help: "Apply without asking (needed when not at a terminal and no plan file is given).")
    var autoApprove = false

    @Flag(help: "Apply syncs whose removals exceed their max_remove.")
    var allowMassDelete = false

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let selection = try session.selection(select)
      let url: URL
      var temporary: URL?
      defer { temporary.map { try? FileManager.default.removeItem(at: $0) } }
      if let planFile {
        url = session.workingDirectory.resolvingProjectPath(planFile)
      } else {
        guard autoApprove || isatty(STDIN_FILENO) == 1 else {
          throw CommandSession.failure(
            "not at a terminal, so apply cannot ask: give --auto-approve, or apply a plan file from `backflow plan --out`")
        }
        let planned = FileManager.default.temporaryDirectory.appendingPathComponent("backflow-\(UUID().uuidString).plan")
        temporary = planned
        guard try plan(session, selection: selection, into: planned) else { return }
        url = planned
      }
      let cancellation = Cancellation()
      let signals = SignalTrap(cancellation: cancellation)
      defer { signals.release() }
      let engine = Engine(project: session.project, directory: global.projectURL, state: try session.writableState())
      let reporter = ApplyReporter(terminal: session.terminal, quiet: global.quiet)
      let outcomes: [SyncOutcome]
      do {
        outcomes = try await engine.apply(
          planFile: url, selection: selection, allowMassDelete: allowMassDelete, cancellation: cancellation,
          observer: reporter)
      } catch let error as ApplyError {
        throw CommandSession.failure(error.message)
      } catch let error as PlanError {
        throw CommandSession.failure(error.description)
      }
      reporter.finish(outcomes, cancelled: cancellation.isRequested)
      if !outcomes.allSatisfy({ $0.succeeded && $0.logError == nil }) || cancellation.isRequested {
        throw ExitCode.failure
      }
    }

    /// Plans into `url` and asks; `false` when there is nothing to do or the user declines.
    private func plan(_ session: CommandSession, selection: Set<String>?, into url: URL) throws -> Bool {
      let writer = try PlanFileWriter(url: url)
      let plan = try Planner(project: session.project, directory: global.projectURL, state: session.state).plan(
        selection: selection, commit: GitCommit.head(of: global.projectURL), sink: writer)
      let renderer = PlanRenderer(plan: plan, terminal: session.terminal, stateDescription: session.stateDescription)
      print(renderer.render(as: .text), terminator: "")
      guard !plan.diagnostics.hasErrors else { throw CommandSession.failure("nothing was applied: the plan has errors") }
      guard plan.hasChanges else { return false }
      try writer.finish(plan, backflowVersion: BackflowVersion.current)
      if autoApprove { return true }
      print("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
      guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
        print("\nApply cancelled.")
        return false
      }
      print()
      return true
    }
  }
}
