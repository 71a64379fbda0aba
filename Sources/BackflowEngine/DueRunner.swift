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
    await withTaskGroup(of: SyncOutcome.self) { group in
      for name in order.start(parallel: parallel) {
        group.addTask { await self.runSync(name, cancellation: cancellation, observer: observer(name)) }
      }
      while let outcome = await group.next() {
        result.outcomes.append(outcome)
        note(order.finish(outcome.name, succeeded: outcome.succeeded))
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

  /// Locks one sync, plans it into its own plan file and applies it. The lock comes first, so a
  /// sync that waited for another process's run plans what that run left.
  private func runSync(_ name: String, cancellation: Cancellation, observer: (any ApplyObserver)?) async -> SyncOutcome {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("backflow-due-\(UUID().uuidString).plan")
    defer { try? FileManager.default.removeItem(at: url) }
    var failure = SyncOutcome(name: name, configAction: .none)
    do {
      let store = try StateStore.open(state, in: directory, writer: backflowVersion)
      let engine = Engine(project: project, directory: directory, state: store)
      engine.lockTimeout = lockTimeout
      engine.unreachableChannels = unreachableChannels
      await engine.lockBeforePlanning([name], isCancelled: { cancellation.isRequested })
      defer { engine.releaseHeldLocks() }
      let writer = try PlanFileWriter(url: url)
      let plan = try Planner(project: project, directory: directory, state: store).plan(
        selection: [name], commit: commit, sink: writer)
      if let sync = plan.syncs.first {
        failure.id = sync.id
        failure.configAction = sync.configAction
      }
      guard !plan.diagnostics.hasErrors else {
        failure.error = "could not plan: " + plan.diagnostics.all.filter { $0.severity == .error }.map(\.description)
          .joined(separator: "; ")
        failure.notes += await engine.recordPlanFailure(syncNamed: name, syncID: failure.id, error: failure.error ?? "")
        observer?.syncFinished(failure)
        return failure
      }
      try writer.finish(plan, backflowVersion: backflowVersion)
      let outcomes = try await engine.apply(
        planFile: url, selection: [name], allowMassDelete: allowMassDelete, cancellation: cancellation,
        observer: observer)
      if let outcome = outcomes.first { return outcome }
      failure.error = cancellation.isRequested ? "not started: the apply was stopped" : "the plan held no run for it"
    } catch let error as StateError {
      failure.error = "state store: \(error)"
    } catch {
      failure.error = FailureKind.message(of: error)
    }
    observer?.syncFinished(failure)
    return failure
  }
}
