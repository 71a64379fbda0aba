import BackflowAlerts
import BackflowConfig
import BackflowPlanner
import BackflowState
import Foundation

/// Runs the syncs of a `DueRunOrder`: each one planned right before it runs (so a follower sees
/// what its leaders wrote) and applied as `apply` applies a plan file, independent ones at the same
/// time up to `parallel`. Every running sync has its own state connection, planner and engine.
public struct DueRunner: Sendable {
  public var project: Project
  /// The project directory.
  public var directory: URL
  public var state: StateLocation
  /// The git commit the runs record.
  public var commit: String?
  /// The Backflow version that writes state and plan files.
  public var backflowVersion: String
  /// How many syncs may run at once (at least 1).
  public var parallel: Int
  public var allowMassDelete: Bool
  /// How long each sync waits for another process to release its lock.
  public var lockTimeout: Duration = .zero
  /// Notification channels that failed in this round: its other syncs do not wait for them again.
  public var unreachableChannels = UnreachableChannels()
  /// For daemons that share one state store: a sync whose lock another process holds, or that
  /// another process ran since it fell due, is skipped (no run, no error) rather than failed.
  public var yieldsToOtherProcesses = false

  public init(
    project: Project, directory: URL, state: StateLocation, commit: String?, backflowVersion: String, parallel: Int = 1,
    allowMassDelete: Bool = false
  ) {
    self.project = project
    self.directory = directory
    self.state = state
    self.commit = commit
    self.backflowVersion = backflowVersion
    self.parallel = max(parallel, 1)
    self.allowMassDelete = allowMassDelete
  }

  /// What an invocation did.
  public struct Result: Sendable {
    /// One per sync that was started, in the order they finished.
    public var outcomes: [SyncOutcome] = []
    /// The syncs that did not run, and why.
    public var skipped: [DueRunOrder.Skip] = []

    /// Every sync that started succeeded and wrote its sync logs.
    public var succeeded: Bool { outcomes.allSatisfy { $0.succeeded && $0.logError == nil } }
  }

  /// Runs `order` to the end. `observer` makes the observer of one sync's run (it is called in the
  /// task that runs that sync, and sees `syncFinished` there, also for a sync that could not be
  /// planned); `skipped` hears each follower that will not run, from the calling task. After
  /// `cancellation`, running syncs finish their batches in flight and nothing new starts.
  public func run(
    _ order: DueRunOrder, cancellation: Cancellation = Cancellation(),
    observer: @escaping @Sendable (String) -> (any ApplyObserver)? = { _ in nil },
    skipped: (DueRunOrder.Skip) -> Void = { _ in }
  ) async -> Result {
    var order = order
    var result = Result()
    func note(_ skips: [DueRunOrder.Skip]) {
      skips.forEach(skipped)
      result.skipped += skips
    }
    await withTaskGroup(of: Attempt.self) { group in
      for name in order.start(parallel: parallel) {
        group.addTask { await self.runSync(name, cancellation: cancellation, observer: observer(name)) }
      }
      while let attempt = await group.next() {
        switch attempt {
        case let .ran(outcome):
          result.outcomes.append(outcome)
          note(order.finish(outcome.name, succeeded: outcome.succeeded))
        case let .yielded(skip):
          note([skip] + order.skip(skip.name, because: skip.reason))
        }
        if cancellation.isRequested {
          note(order.stop(because: "the apply was stopped"))
          continue
        }
        for name in order.start(parallel: parallel) {
          group.addTask { await self.runSync(name, cancellation: cancellation, observer: observer(name)) }
        }
      }
    }
    return result
  }

  /// How one sync's turn ended: it ran (or failed trying), or it was left to another process.
  private enum Attempt: Sendable {
    case ran(SyncOutcome)
    case yielded(DueRunOrder.Skip)
  }

  /// Locks one sync, plans it into its own plan file and applies it. The lock comes first, so a
  /// sync that waited for another process's run plans what that run left.
  private func runSync(_ name: String, cancellation: Cancellation, observer: (any ApplyObserver)?) async -> Attempt {
    let url = TemporaryFiles.url("due", suffix: ".plan")
    defer { try? FileManager.default.removeItem(at: url) }
    var failure = SyncOutcome(name: name, configAction: .none)
    do {
      let store = try StateStore.open(state, in: directory, writer: backflowVersion)
      let engine = Engine(project: project, directory: directory, state: store)
      engine.lockTimeout = lockTimeout
      engine.unreachableChannels = unreachableChannels
      await engine.lockBeforePlanning([name], isCancelled: { cancellation.isRequested })
      defer { engine.releaseHeldLocks() }
      if yieldsToOtherProcesses, let reason = try otherProcessesTurn(name, engine: engine, state: store) {
        return .yielded(DueRunOrder.Skip(name: name, reason: reason))
      }
      let writer = try PlanFileWriter(url: url)
      let planner = Planner(project: project, directory: directory, state: store)
      planner.stages = engine.stages
      let plan = try planner.plan(selection: [name], commit: commit, sink: writer)
      if let sync = plan.syncs.first {
        failure.id = sync.id
        failure.configAction = sync.configAction
      }
      guard !plan.diagnostics.hasErrors else {
        failure.error = "could not plan: " + plan.diagnostics.all.filter { $0.severity == .error }.map(\.description)
          .joined(separator: "; ")
        failure.notes += await engine.recordPlanFailure(syncNamed: name, syncID: failure.id, error: failure.error ?? "")
        observer?.syncFinished(failure)
        return .ran(failure)
      }
      try writer.finish(plan, backflowVersion: backflowVersion)
      let outcomes = try await engine.apply(
        planFile: url, selection: [name], allowMassDelete: allowMassDelete, cancellation: cancellation,
        observer: observer)
      if let outcome = outcomes.first { return .ran(outcome) }
      // Stopped between its plan and its run: nothing was changed, as for a sync not yet started.
      if cancellation.isRequested { return .yielded(DueRunOrder.Skip(name: name, reason: "the apply was stopped")) }
      failure.error = "the plan held no run for it"
    } catch let error as StateError {
      failure.error = "state store: \(error)"
    } catch {
      failure.error = FailureKind.message(of: error)
    }
    observer?.syncFinished(failure)
    return .ran(failure)
  }

  /// Why sync `name` is another process's to run, or `nil` when it is this one's: another process
  /// holds its lock, or (read under the lock) ran it since it fell due. Followers come with their
  /// leader, which was checked.
  private func otherProcessesTurn(_ name: String, engine: Engine, state: StateStore) throws -> String? {
    guard engine.heldLocks[name] != nil else {
      let holder = try state.currentLock(syncNamed: name).map { " (\($0.who), pid \($0.pid))" } ?? ""
      return "another process holds its lock\(holder)"
    }
    guard let schedule = project.sync(named: name)?.schedule.value else { return nil }
    if case .after = schedule { return nil }
    let lastRun = try state.lastRuns()[name]?.startDate
    guard !schedule.nextDue(lastRun: lastRun).isDue(at: Date()) else { return nil }
    return "another process ran it since it fell due"
  }
}
