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

        With --due, runs the syncs whose schedule says they are due, then the syncs that run \
        after them, in dependency order, up to --parallel at once; each is planned right before \
        it runs and applied without asking, as a scheduler would (docs/schedules.md).
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @OptionGroup(title: "Locking")
    var lock: LockOptions

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

    @Flag(help: "Run the syncs that are due by their schedule, and the syncs that run after them; implies --auto-approve.")
    var due = false

    @Option(help: ArgumentHelp("With --due, run up to N independent syncs at once.", valueName: "n"))
    var parallel = 1

    public init() {}

    public func validate() throws {
      guard parallel >= 1 else { throw ValidationError("--parallel must be 1 or more") }
      guard due || parallel == 1 else { throw ValidationError("--parallel goes with --due") }
      if due, planFile != nil || !select.isEmpty {
        throw ValidationError("--due decides which syncs run from their schedules; it takes no plan file or --select")
      }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      TemporaryFiles.removeLeftovers()
      if due { return try await applyDue(session) }
      let selection = try session.selection(select)
      guard planFile != nil || autoApprove || isatty(STDIN_FILENO) == 1 else {
        throw CommandSession.failure(
          "not at a terminal, so apply cannot ask: give --auto-approve, or apply a plan file from `backflow plan --out`")
      }
      let engine = Engine(project: session.project, directory: global.projectURL, state: try session.writableState())
      engine.lockTimeout = lock.lockTimeout
      defer { engine.releaseHeldLocks() }
      var url: URL?
      var newSyncs: [String] = []
      var temporary: URL?
      defer { temporary.map { try? FileManager.default.removeItem(at: $0) } }
      if let planFile {
        url = session.workingDirectory.resolvingProjectPath(planFile)
      } else {
        // Locked before planning, as Terraform does: the plan shown is what runs, and a sync that
        // waited for another apply is planned from what that apply left.
        await engine.lockBeforePlanning(selection)
        newSyncs = try streamable(session, selection: selection)
        if newSyncs.isEmpty {
          let planned = TemporaryFiles.url("plan", suffix: ".plan")
          temporary = planned
          guard try plan(session, selection: selection, into: planned, stages: engine.stages) else { return }
          url = planned
        } else if !global.quiet {
          print(
            "Applying \(newSyncs.joined(separator: ", ")) while planning: \(newSyncs.count == 1 ? "it has" : "they have") "
              + "never run, so every row is added and none removed; the plan follows.\n")
          // Shown at once in CI logs too, where standard output is not line-buffered.
          fflush(nil)
        }
      }
      let cancellation = Cancellation()
      let signals = SignalTrap(cancellation: cancellation)
      defer { signals.release() }
      let reporter = ApplyReporter(terminal: session.terminal, quiet: global.quiet)
      let outcomes: [SyncOutcome]
      do {
        if let url {
          outcomes = try await engine.apply(
            planFile: url, selection: selection, allowMassDelete: allowMassDelete, cancellation: cancellation,
            observer: reporter)
        } else {
          let planner = Planner(project: session.project, directory: global.projectURL, state: session.state)
          planner.stages = engine.stages
          let applied = await engine.applyWhilePlanning(
            newSyncs, planner: planner, commit: GitCommit.head(of: global.projectURL), cancellation: cancellation,
            observer: reporter)
          outcomes = applied.outcomes
          if let plan = applied.plan {
            let renderer = PlanRenderer(plan: plan, terminal: session.terminal, stateDescription: session.stateDescription)
            print("\n" + renderer.render(as: .text), terminator: "")
          }
        }
      } catch let error as ApplyError {
        throw CommandSession.failure(error.message)
      } catch let error as PlanError {
        throw CommandSession.failure(error.description)
      }
      reporter.finish(outcomes, cancelled: cancellation.isRequested)
      StepSummary.write(ApplySummary(outcomes: outcomes, cancelled: cancellation.isRequested).markdown())
      if !outcomes.allSatisfy({ $0.succeeded && $0.logError == nil }) || cancellation.isRequested {
        throw ExitCode.failure
      }
    }

    /// The selected syncs, by name, when `apply --auto-approve` may send their rows as they are
    /// planned, with no plan file: none of them has run (no snapshot, so nothing to remove and no
    /// deletion guard to consult), and no sync logs need the plan's unchanged rows. Empty otherwise.
    private func streamable(_ session: CommandSession, selection: Set<String>?) throws -> [String] {
      guard autoApprove, session.project.syncLogs == nil else { return [] }
      let known = try session.state.syncs().filter { $0.retiredAt == nil }
      guard !known.contains(where: { selection?.contains($0.name) ?? true }) else { return [] }
      return session.project.syncs.map(\.name.value).filter { selection?.contains($0) ?? true }.sorted()
    }

    /// Plans into `url`, staging models in their warehouse where `stages` asks, and asks; `false`
    /// when there is nothing to do or the user declines.
    private func plan(_ session: CommandSession, selection: Set<String>?, into url: URL, stages: WarehouseStages) throws
      -> Bool
    {
      let writer = try PlanFileWriter(url: url)
      let planner = Planner(project: session.project, directory: global.projectURL, state: session.state)
      planner.stages = stages
      let plan = try planner.plan(selection: selection, commit: GitCommit.head(of: global.projectURL), sink: writer)
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

extension Backflow.Apply {
  /// `apply --due`: what a scheduler calls every few minutes.
  private func applyDue(_ session: CommandSession) async throws {
    // Created or migrated once, before each sync opens a connection of its own.
    let state = try session.writableState()
    let lastRuns = try session.readingState { try state.lastRuns() }.compactMapValues(\.startDate)
    let schedule = DueSchedule(project: session.project, lastRuns: lastRuns, now: Date())
    guard !schedule.isEmpty else {
      print("Nothing is due: `backflow schedule` shows when each sync runs next.")
      return
    }
    let followers = schedule.followers.isEmpty ? "" : "; then \(schedule.followers.joined(separator: ", "))"
    if !global.quiet { print("Due: \(schedule.due.joined(separator: ", "))\(followers)\n") }
    var runner = DueRunner(
      project: session.project, directory: global.projectURL, state: session.stateLocation,
      commit: GitCommit.head(of: global.projectURL), backflowVersion: BackflowVersion.current, parallel: parallel,
      allowMassDelete: allowMassDelete)
    runner.lockTimeout = lock.lockTimeout
    let cancellation = Cancellation()
    let signals = SignalTrap(cancellation: cancellation)
    defer { signals.release() }
    let terminal = session.terminal
    let quiet = global.quiet
    let lock = NSLock()
    let live = parallel == 1
    let result = await runner.run(
      schedule.order, cancellation: cancellation,
      observer: { _ in SerialApplyReporter(ApplyReporter(terminal: terminal, quiet: quiet), lock: lock, live: live) },
      skipped: { skip in
        lock.withLock { print("\(terminal.paint(skip.name, .bold)): " + terminal.paint("skipped: \(skip.reason)", .yellow)) }
      })
    let summary = ApplyReporter(terminal: terminal, quiet: quiet)
    summary.finish(result.outcomes, cancelled: cancellation.isRequested)
    StepSummary.write(ApplySummary(outcomes: result.outcomes, cancelled: cancellation.isRequested).markdown())
    if !result.skipped.isEmpty { print("Skipped: \(result.skipped.map(\.name).joined(separator: ", ")).") }
    if !result.succeeded || cancellation.isRequested { throw ExitCode.failure }
  }
}

/// One sync's `ApplyReporter` in `apply --due`: summaries of syncs running at once are printed one
/// at a time, and progress lines only when syncs run one by one (two would overwrite each other).
private final class SerialApplyReporter: ApplyObserver {
  private let reporter: ApplyReporter
  private let lock: NSLock
  private let live: Bool

  init(_ reporter: ApplyReporter, lock: NSLock, live: Bool) {
    self.reporter = reporter
    self.lock = lock
    self.live = live
  }

  func syncStarted(_ name: String, run: RunRecord) {
    // Always passed on: it starts the reporter's clock for the summary's duration.
    lock.withLock { reporter.syncStarted(name, run: run) }
  }

  func syncProgress(_ name: String, run: RunRecord) {
    guard live else { return }
    lock.withLock { reporter.syncProgress(name, run: run) }
  }

  func syncFinished(_ outcome: SyncOutcome) {
    lock.withLock { reporter.syncFinished(outcome) }
  }
}
