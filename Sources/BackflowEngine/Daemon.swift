import BackflowConfig
import BackflowState
import Foundation

/// What `backflow daemon` reports as it goes; each is one log line.
public enum DaemonEvent: Sendable {
  /// The loop started with a project of this many syncs.
  case started(syncs: Int)
  /// The project's files changed and the new config is in force.
  case reloaded(syncs: Int)
  /// The project's files changed, but the new config has errors: the previous one stays in force.
  case reloadRejected([Diagnostic])
  /// A sync ran, or could not start, taking `seconds` from planning to its recorded end.
  case ran(SyncOutcome, seconds: Double)
  /// A follower did not run.
  case skipped(DueRunOrder.Skip)
  /// Nothing is due before `until`, when `syncs` are.
  case waiting(until: Date, syncs: [String])
  /// No sync runs on a clock (all manual, followers or disabled): only a config change or a signal
  /// wakes the daemon.
  case idle
  /// The state store could not be read; the daemon tries again at `retry`.
  case stateUnavailable(String, retry: Date)
  /// A signal asked the daemon to stop, which it now does: batches in flight finish and every row is recorded.
  case stopping
  /// The daemon stopped.
  case stopped
}

/// `apply --due` in a loop: runs what is due, sleeps until the next sync falls due, reloads the
/// project when its files change, and stops after a `Cancellation` once in-flight batches finish.
///
/// A sync started counts as run for its schedule even when no run was recorded (it could not be
/// planned, or another process held its lock), so a broken sync waits for its next slot instead of
/// being retried on every wake.
///
/// Several daemons may share one state store: each due sync runs in the one that takes its lock
/// first; the others skip it (no error) and take the next due one (`DueRunner.yieldsToOtherProcesses`).
public final class Daemon {
  /// What each cycle's `DueRunner` gets, apart from the project.
  public struct Settings: Sendable {
    public var parallel = 1
    public var allowMassDelete = false
    public var lockTimeout: Duration = .zero
    /// `--state`, which wins over the project's `state:` for the daemon's whole life.
    public var stateOverride: StateLocation?
    public var backflowVersion: String
    /// How often the daemon looks at the project's files and at the signal while it sleeps.
    public var tick: Duration = .seconds(1)
    /// How long to wait after the state store could not be read.
    public var stateRetry: Duration = .seconds(30)

    public init(backflowVersion: String) {
      self.backflowVersion = backflowVersion
    }
  }

  private let loader: ProjectLoader
  private let settings: Settings
  private let commit: @Sendable () -> String?
  private let log: @Sendable (DaemonEvent) -> Void
  private var project: Project
  private var files: [String: ProjectFileStamp]
  /// When each sync was last started by this daemon.
  private var attempts: [String: Date] = [:]

  /// `project` is what `loader` loaded at start (valid); `commit` is asked for the git commit
  /// before each cycle's runs; `log` hears every event, from any task.
  public init(
    loader: ProjectLoader, project: Project, settings: Settings, commit: @escaping @Sendable () -> String?,
    log: @escaping @Sendable (DaemonEvent) -> Void
  ) {
    self.loader = loader
    self.project = project
    self.settings = settings
    self.commit = commit
    self.log = log
    files = ProjectFileStamp.stamps(loader)
  }

  /// Runs until `cancellation`; then returns once every sync in flight has recorded its run.
  public func run(cancellation: Cancellation) async {
    log(.started(syncs: project.syncs.count))
    TemporaryFiles.removeLeftovers()
    var reported: Wait?
    while !cancellation.isRequested {
      reloadIfChanged()
      let wake: Date?
      do {
        let state = try stateLocation()
        let lastRuns = try lastRunDates(in: state)
        let schedule = DueSchedule(project: project, lastRuns: lastRuns, now: Date())
        if !schedule.isEmpty {
          await runDue(schedule, state: state, cancellation: cancellation)
          reported = nil
          continue
        }
        let next = DueSchedule.next(project: project, lastRuns: lastRuns)
        let wait = next.map { Wait.until($0.date, $0.syncs) } ?? .idle
        if wait != reported { log(next.map { .waiting(until: $0.date, syncs: $0.syncs) } ?? .idle) }
        reported = wait
        wake = next?.date
      } catch {
        let retry = Date().addingTimeInterval(Self.seconds(settings.stateRetry))
        log(.stateUnavailable(FailureKind.message(of: error), retry: retry))
        reported = nil
        wake = retry
      }
      await sleep(until: wake, cancellation: cancellation)
    }
    log(.stopped)
  }

  /// What the daemon last said it waits for, so a wake that changes nothing logs nothing.
  private enum Wait: Equatable {
    case until(Date, [String])
    case idle
  }

  private func stateLocation() throws -> StateLocation {
    if let location = settings.stateOverride ?? StateLocation(project.state.value) { return location }
    throw StateError("\(project.state.location): state \(StateLocation.requirement(for: project.state.value))")
  }

  /// The start of each sync's last run, by name: the later of state's newest run and this
  /// daemon's last start of it.
  private func lastRunDates(in state: StateLocation) throws -> [String: Date] {
    let store = try StateStore.open(state, in: loader.directory, writer: settings.backflowVersion)
    return try store.lastRuns().compactMapValues(\.startDate).merging(attempts) { max($0, $1) }
  }

  private func runDue(_ schedule: DueSchedule, state: StateLocation, cancellation: Cancellation) async {
    let started = Date()
    for name in schedule.order.syncs { attempts[name] = started }
    var runner = DueRunner(
      project: project, directory: loader.directory, state: state, commit: commit(),
      backflowVersion: settings.backflowVersion, parallel: settings.parallel, allowMassDelete: settings.allowMassDelete)
    runner.lockTimeout = settings.lockTimeout
    runner.yieldsToOtherProcesses = true
    let log = self.log
    _ = await runner.run(
      schedule.order, cancellation: cancellation, observer: { _ in DaemonRunObserver(log: log) },
      skipped: { log(.skipped($0)) })
  }

  /// Sleeps until `date` (for ever when `nil`), waking early for a signal or a changed file.
  private func sleep(until date: Date?, cancellation: Cancellation) async {
    while !cancellation.isRequested, ProjectFileStamp.stamps(loader) == files {
      let remaining = date.map { $0.timeIntervalSinceNow } ?? .infinity
      guard remaining > 0 else { return }
      try? await Task.sleep(for: min(settings.tick, .milliseconds(Int(min(remaining, 86_400) * 1000) + 1)))
    }
  }

  private func reloadIfChanged() {
    let current = ProjectFileStamp.stamps(loader)
    guard current != files else { return }
    files = current
    let loaded = loader.load()
    guard !loaded.diagnostics.hasErrors else {
      log(.reloadRejected(loaded.diagnostics.sorted.filter { $0.severity == .error }))
      return
    }
    project = loaded.project
    log(.reloaded(syncs: project.syncs.count))
  }

  static func seconds(_ duration: Duration) -> TimeInterval {
    TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
  }
}

/// What identifies a version of a project file: it changes when the file is edited, replaced,
/// added or removed.
struct ProjectFileStamp: Equatable {
  var modified: Date?
  var size: Int?

  /// Every file `loader` reads, by relative path.
  static func stamps(_ loader: ProjectLoader) -> [String: ProjectFileStamp] {
    var stamps: [String: ProjectFileStamp] = [:]
    for path in loader.projectFiles() {
      let attributes = try? FileManager.default.attributesOfItem(
        atPath: loader.directory.appendingPathComponent(path).path)
      stamps[path] = ProjectFileStamp(
        modified: attributes?[.modificationDate] as? Date, size: (attributes?[.size] as? NSNumber)?.intValue)
    }
    return stamps
  }
}

/// Hands one sync's finished run to the daemon's log. Made as the sync starts, before it is planned.
private final class DaemonRunObserver: ApplyObserver {
  private let log: @Sendable (DaemonEvent) -> Void
  private let started = ContinuousClock.now

  init(log: @escaping @Sendable (DaemonEvent) -> Void) {
    self.log = log
  }

  func syncStarted(_ name: String, run: RunRecord) {}
  func syncProgress(_ name: String, run: RunRecord) {}

  func syncFinished(_ outcome: SyncOutcome) {
    log(.ran(outcome, seconds: Daemon.seconds(ContinuousClock.now - started)))
  }
}
