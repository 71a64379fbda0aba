import BackflowAlerts
import BackflowConfig
import BackflowConnectors
import BackflowDestinations
import BackflowPlanner
import BackflowState
import BackflowSyncLogs
import Foundation

/// Applies plan files: records each sync's config in state, sends its planned rows, and records
/// the run.
public final class Engine {
  let project: Project
  private let directory: URL
  let state: StateStore
  /// Opened on the first run that writes sync logs; a failure to open is each run's log error.
  private var logWriter: Result<SyncLogWriter, any Error>?
  /// How long a sync waits for another process to release its lock; zero fails at once.
  public var lockTimeout: Duration = .zero
  /// Who the locks this engine takes name as their holder.
  public var lockOwner = LockOwner.current(operation: "apply")
  /// Locks taken by `lockBeforePlanning`, by sync name.
  public private(set) var heldLocks: [String: SyncLock] = [:]
  /// Notification channels that failed in this command, shared with other engines of the same one.
  public var unreachableChannels = UnreachableChannels()
  /// Opens each run's destination connector in place of the connector registry: the seam that
  /// lets tests drive the batch loop with `MemoryDestination`, without I/O to a destination.
  public var openConnector: ((DestinationTarget) throws -> any DestinationConnector)?
  /// The syncs this apply's planner staged in their warehouse (`Planner.stages`), whose copy for
  /// warehouse planning is computed there after the run.
  public let stages = WarehouseStages()

  /// `state` must be open for writing; `directory` is the project directory.
  public init(project: Project, directory: URL, state: StateStore) {
    self.project = project
    self.directory = directory
    self.state = state
  }

  /// Takes the locks of the syncs named in `selection` (every sync of the project and of state
  /// when `nil`, as a plan covers them) before their plan is made, so that a sync that waited for
  /// another process's run is planned from what that run left, and what is planned is what runs.
  /// Names go in order, so two applies never wait for each other in a circle. A sync whose lock
  /// cannot be had within `lockTimeout` fails when it is applied, naming the holder, without
  /// waiting again.
  public func lockBeforePlanning(_ selection: Set<String>?, isCancelled: () -> Bool = { false }) async {
    let records = (try? state.syncs().filter { $0.retiredAt == nil }) ?? []
    let names = selection ?? Set(project.syncs.map(\.name.value) + records.map(\.name))
    for name in names.sorted() where heldLocks[name] == nil {
      let id = records.first { $0.name == name }?.id
      heldLocks[name] = try? await state.lock(
        syncNamed: name, syncID: id, owner: lockOwner, timeout: lockTimeout, isCancelled: isCancelled)
    }
    lockTimeout = .zero
  }

  /// Releases the locks `lockBeforePlanning` took.
  public func releaseHeldLocks() {
    for lock in heldLocks.values { lock.release() }
    heldLocks = [:]
  }

  /// Applies the plan file at `url` to the syncs in `selection` (all when `nil`). Throws before
  /// anything is changed when the plan is stale; a sync that fails does not stop the others.
  public func apply(
    planFile url: URL, selection: Set<String>? = nil, allowMassDelete: Bool = false,
    cancellation: Cancellation = Cancellation(), observer: (any ApplyObserver)? = nil
  ) async throws -> [SyncOutcome] {
    let header = try PlanFileReader(url: url).header
    guard case let .array(plans)? = header["syncs"] else { throw ApplyError("the plan file lists no syncs") }
    let commit: String? = if case let .string(sha)? = header["commit"] { sha } else { nil }
    let selected = plans.filter { plan in
      guard case let .string(name)? = plan["name"] else { return false }
      return selection?.contains(name) ?? true
    }
    try checkFresh(header: header, plans: selected)
    if project.syncLogs != nil, header["unchanged_rows"] != .bool(true) {
      throw ApplyError(
        "the plan was made without sync_logs, so it lacks the unchanged rows sync_snapshot lists: run `backflow plan` "
          + "again (or `backflow apply` without a plan file)")
    }
    var outcomes: [SyncOutcome] = []
    for plan in selected {
      if cancellation.isRequested { break }
      let name: String = if case let .string(text)? = plan["name"] { text } else { "" }
      let outcome = await apply(
        plan, rows: PlannedRows(source: PlanFileSource(url: url, sync: name), file: url), commit: commit,
        allowMassDelete: allowMassDelete, cancellation: cancellation, observer: observer)
      observer?.syncFinished(outcome)
      outcomes.append(outcome)
    }
    return outcomes
  }

  /// Applies syncs that have never run while `planner` plans them, with no plan file: their
  /// snapshots are empty, so every row is an addition and none a removal, and each row is sent once
  /// planned (docs/decisions.md, "Apply"). `planner` plans on a thread of its own, so its state
  /// store must be a connection other than this engine's, and it is not to be used by the caller
  /// until this returns. A sync whose plan fails before its first row is not applied; one that
  /// fails later fails its run, which records the rows sent. Returns each sync's outcome and the
  /// plan of the syncs planned, to show.
  public func applyWhilePlanning(
    _ names: [String], planner: Planner, commit: String?, cancellation: Cancellation = Cancellation(),
    observer: (any ApplyObserver)? = nil
  ) async -> (outcomes: [SyncOutcome], plan: Plan?) {
    let stream = PlanStream(names, planner: planner, commit: commit)
    var outcomes: [SyncOutcome] = []
    for name in names {
      if cancellation.isRequested { break }
      var outcome = SyncOutcome(name: name, configAction: .create)
      do {
        var header: [(String, JSONValue)] = [("name", .string(name)), ("config_action", .string("create"))]
        var columns: [String] = []
        // A sync planned without rows (disabled) only has its config recorded.
        if let started = try stream.start(name) {
          // What a plan file's header says of a new sync (`DataCounts`); the counts grow as rows are read.
          let mirror = project.sync(named: name)?.mode.value == .mirror
          header += [("basis", .string(DataPlan.Basis.previous.rawValue)), ("sweep", .bool(mirror))]
          if let copy = started.copy { header.append(("typed_copy", copy.json)) }
          columns = started.columns
        }
        outcome = await apply(
          .object(header), rows: PlannedRows(source: stream.rows(of: name, columns: columns), file: nil), commit: commit,
          allowMassDelete: false, cancellation: cancellation, observer: observer)
      } catch {
        outcome.error = FailureKind.message(of: error)
      }
      stream.abandon(name)
      observer?.syncFinished(outcome)
      outcomes.append(outcome)
    }
    return (outcomes, stream.finish(names))
  }

  /// Refuses a plan made against other state, or before a change to a sync's state or config.
  private func checkFresh(header: JSONValue, plans: [JSONValue]) throws {
    let again = "run `backflow plan` again (or `backflow apply` without a plan file)"
    let lineage: String? = if case let .string(text)? = header["state_lineage"] { text } else { nil }
    let records = try state.syncs().filter { $0.retiredAt == nil }
    // A plan made before the store existed still holds while the store is empty.
    guard lineage == state.lineage || (lineage == nil && records.isEmpty) else {
      throw ApplyError(
        lineage == nil
          ? "the plan was made before the state store existed, and it has been written since: \(again)"
          : "the plan was made against another state store: \(again)")
    }
    for plan in plans {
      guard case let .string(name)? = plan["name"] else { continue }
      let record = records.first { $0.name == name }
      let id: Int? = if case let .int(number)? = plan["id"] { number } else { nil }
      let serial: Int? = if case let .int(number)? = plan["serial"] { number } else { nil }
      // A sync another process holds locked is checked once its lock is taken: it fails there,
      // naming the holder, rather than failing the whole apply here.
      guard try (record?.id == id && record?.serial == serial) || state.currentLock(syncNamed: name) != nil else {
        throw ApplyError(
          "sync \(name) has changed in state since the plan was made (another apply, resync or reset-cdc): \(again)")
      }
      guard plan["config_action"] != .string("retire") else { continue }
      guard let sync = project.sync(named: name),
        plan["config_hash"] == .string(try SyncConfiguration(sync: sync, in: project).hash)
      else {
        throw ApplyError("the configuration of sync \(name) has changed since the plan was made: \(again)")
      }
    }
  }

  private func apply(
    _ plan: JSONValue, rows: PlannedRows, commit: String?, allowMassDelete: Bool, cancellation: Cancellation,
    observer: (any ApplyObserver)?
  ) async -> SyncOutcome {
    let name: String = if case let .string(text)? = plan["name"] { text } else { "" }
    let action = plan["config_action"].flatMap { value -> SyncPlan.ConfigAction? in
      if case let .string(text) = value { SyncPlan.ConfigAction(rawValue: text) } else { nil }
    } ?? .none
    var outcome = SyncOutcome(name: name, configAction: action)
    if case let .int(id)? = plan["id"] { outcome.id = id }
    guard action == .retire || project.sync(named: name) != nil else { return outcome }
    // The lock comes before anything is recorded and goes after the run and its logs are written.
    let lock: SyncLock
    do {
      if let held = heldLocks[name] {
        lock = held
      } else {
        lock = try await state.lock(
          syncNamed: name, syncID: outcome.id, owner: lockOwner, timeout: lockTimeout,
          isCancelled: { cancellation.isRequested })
      }
    } catch {
      outcome.error = FailureKind.message(of: error)
      return outcome
    }
    if let stopped = lock.takenOver {
      outcome.notes.append(
        "took over the lock of \(stopped.who) (pid \(stopped.pid), \(stopped.operation) since \(stopped.since)), "
          + "whose process stopped without releasing it")
    }
    if !lock.abortedRuns.isEmpty {
      outcome.notes.append(
        "marked \(plural(lock.abortedRuns.count, "run")) left running by a stopped process aborted: "
          + lock.abortedRuns.map { "#\($0)" }.joined(separator: ", "))
    }
    outcome = await apply(
      plan, outcome: outcome, action: action, rows: rows, commit: commit, allowMassDelete: allowMassDelete,
      cancellation: cancellation, observer: observer)
    let alertNotes = judgeAlerts(outcome)
    if heldLocks[name] == nil { lock.release() }
    if lock.wasLost {
      outcome.notes.append(
        "the lock of \(name) was removed by someone else (`backflow unlock`) while this apply held it")
    }
    outcome.notes += alertNotes + (await deliverNotifications())
    return outcome
  }

  /// Applies one sync's plan while holding its lock.
  private func apply(
    _ plan: JSONValue, outcome: SyncOutcome, action: SyncPlan.ConfigAction, rows: PlannedRows, commit: String?,
    allowMassDelete: Bool, cancellation: Cancellation, observer: (any ApplyObserver)?
  ) async -> SyncOutcome {
    var outcome = outcome
    let name = outcome.name
    do {
      // Another apply may have run the sync since the plan was made: while it held the lock this
      // one waited for, or before.
      let record = try state.syncs().first { $0.name == name && $0.retiredAt == nil }
      let serial: Int? = if case let .int(number)? = plan["serial"] { number } else { nil }
      guard record?.id == outcome.id, record?.serial == serial else {
        throw ApplyError(
          "sync \(name) has changed in state since the plan was made (another apply ran it while this one waited "
            + "for its lock): run `backflow plan` again (or `backflow apply` without a plan file)")
      }
      if action == .retire, let id = outcome.id {
        try state.retire(syncID: id)
        let destination: String = if case let .string(text)? = plan["destination"] { " in \(text)" } else { "" }
        outcome.notes.append("retired: its records\(destination) are left as they are, and its ID \(id) is never reused")
        return outcome
      }
      guard let sync = project.sync(named: name) else { return outcome }
      let configuration = try SyncConfiguration(sync: sync, in: project)
      let data = DataCounts(plan)
      if let data, !allowMassDelete, data.remove > sync.maxRemove.value.limit(of: data.previousRows) {
        outcome.error =
          "refused: removes \(data.remove) of the \(data.previousRows) rows last synced, more than max_remove "
          + "\(sync.maxRemove.value); nothing was sent. Check the model, then apply with --allow-mass-delete if this is intended"
        if let id = outcome.id {
          let run = try refusedRun(syncID: id, commit: commit, data: data, error: outcome.error)
          outcome.run = run
          outcome.logError = writeLogs(
            sync, configuration: configuration, run: run, changelog: .abortedEverything, planFile: rows.file)
        }
        return outcome
      }
      let id = try outcome.id ?? state.register(syncNamed: name)
      outcome.id = id
      try state.transaction {
        try state.recordApplied(
          syncID: id, config: configuration.text, configHash: configuration.hash,
          primaryKey: configuration.primaryKey ?? "", gitCommit: commit)
      }
      guard let data else { return outcome }
      var changelog: Changelog = .none
      if project.syncLogs != nil {
        do {
          changelog = .spool(try ChangelogSpool(sync, configuration: configuration))
        } catch {
          outcome.logError = FailureKind.message(of: error)
        }
      }
      let run = try await self.run(
        sync, id: id, data: data, rows: rows, commit: commit, changelog: changelog, cancellation: cancellation,
        observer: observer, notes: &outcome.notes)
      outcome.run = run
      if outcome.logError == nil {
        outcome.logError = writeLogs(sync, configuration: configuration, run: run, changelog: changelog, planFile: rows.file)
      }
    } catch {
      outcome.error = FailureKind.message(of: error)
    }
    return outcome
  }

  private func run(
    _ sync: Sync, id: Int, data: DataCounts, rows: PlannedRows, commit: String?, changelog: Changelog,
    cancellation: Cancellation, observer: (any ApplyObserver)?, notes: inout [String]
  ) async throws -> RunRecord {
    let planned = data.planned
    let runID = try state.startRun(syncID: id, gitCommit: commit, rowsQueried: data.rowsQueried, planned: planned)
    var run = RunRecord(
      id: runID, syncID: id, status: .running, startedAt: "", gitCommit: commit, rowsQueried: data.rowsQueried,
      planned: planned)
    observer?.syncStarted(sync.name.value, run: run)
    guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else {
      throw ApplyError("destination \(sync.destination.value) is not declared")
    }
    let target = DestinationTarget(
      syncName: sync.name.value, syncID: id, runID: runID, type: sync.type.value, mode: sync.mode.value,
      object: sync.object.value, matchField: sync.match?.field.value, fields: sync.mappings.map(\.to.value),
      concurrency: sync.batch.concurrency.value, requests: sync.requests)
    let spool: ChangelogSpool? = if case let .spool(spool) = changelog { spool } else { nil }
    do {
      let connector =
        try openConnector?(target)
        ?? ConnectorRegistry.standard.connector(for: destination, target: target, in: directory)
      let syncRun: SyncRun
      var planning: (any PlanningRunLedger)?
      do {
        if data.pending == .resyncClear {
          try await connector.prepare()
          try await connector.clear()
          notes.append("cleared \(sync.destination.value)/\(sync.object.value) before sending every row")
        }
        if data.basis == .replaced {
          // The pending request is consumed with the old snapshot: a run cut short later resumes
          // by diffing against what this one recorded.
          try state.transaction {
            try state.clearSnapshot(syncID: id)
            if data.pending != nil { try state.setPending(nil, syncID: id) }
          }
        }
        // A copy out of step with the snapshot is rebuilt before the run's first write
        // (docs/state.md), also when the run writes nothing.
        if let copy = data.copy { try state.prepareTypedCopy(syncID: id, copy: copy) }
        planning = planningLedger(sync, syncID: id, notes: &notes)
        syncRun = try SyncRun(
          sync: sync, run: run, rows: rows.source, sweep: data.sweep, connector: connector, ledger: planning ?? state,
          changelog: spool, plannedAsRead: rows.file == nil, cancellation: cancellation, clock: SystemPacingClock(),
          jsonColumns: project.jsonColumns(of: sync), copy: data.copy,
          progress: { observer?.syncProgress(sync.name.value, run: $0) })
      } catch {
        // A connector is always finished: it holds connections and clients.
        try? await connector.finish()
        throw error
      }
      run = await syncRun.execute()
      // Every row a streamed plan queried is planned: its snapshot was empty.
      if rows.file == nil { run.rowsQueried = run.planned.add }
      notes += syncRun.notes
      if let note = planning?.finish(run) { notes.append(note) }
      if let error = syncRun.changelogError { notes.append("sync logs: \(error)") }
      if data.recorded > 0, run.status == .succeeded {
        notes.append("CDC reset: \(plural(data.recorded, "row")) recorded in the snapshot, none sent")
      }
    } catch {
      run.error = FailureKind.message(of: error)
      run.status = .failed
      run.aborted = planned
      // Nothing was attempted: the run's changelog is every planned row, aborted.
      if let file = rows.file { try? spool?.appendAborted(everyOperationOf: sync.name.value, in: file) }
    }
    try state.finishRun(run)
    return try state.runs(syncID: id, limit: 1).first ?? run
  }

  /// The ledger that also keeps the warehouse planning copy of the sync's snapshot, when its
  /// model's source has `planning:`. A copy that cannot be opened is left behind, with a note:
  /// the state store advances, so the next plan sees the versions differ.
  private func planningLedger(_ sync: Sync, syncID: Int, notes: inout [String]) -> (any PlanningRunLedger)? {
    guard let model = project.model(of: sync),
      let source = project.sources.first(where: { $0.name.value == model.source.value })
    else { return nil }
    do {
      switch try ConnectorRegistry.standard.planningSnapshots(for: source, in: directory) {
      case nil: return nil
      case let .advanced(copy)?: return PlanningLedger(state: state, copy: copy, syncID: syncID)
      case let .computed(copy)?:
        guard stages.contains(sync.name.value) else {
          notes.append(
            "warehouse planning: this apply did not plan \(sync.name.value) itself (a plan file), so the copy of its snapshot "
              + "in \(copy.location) keeps its version; the next plan diffs in Backflow and the next apply makes it anew")
          return nil
        }
        return ComputedPlanningLedger(
          state: state, copy: copy, syncName: sync.name.value,
          keepsStage: stages.unchangedRows(of: sync.name.value) != nil)
      }
    } catch {
      notes.append("warehouse planning: could not connect to source \(source.name.value) (\(error)); the next plan diffs in Backflow")
      return nil
    }
  }

  private func refusedRun(syncID: Int, commit: String?, data: DataCounts, error: String?) throws -> RunRecord {
    let planned = data.planned
    let id = try state.startRun(syncID: syncID, gitCommit: commit, rowsQueried: data.rowsQueried, planned: planned)
    try state.finishRun(
      RunRecord(
        id: id, syncID: syncID, status: .failed, error: error, startedAt: "", gitCommit: commit,
        rowsQueried: data.rowsQueried, planned: planned, aborted: planned))
    return try state.runs(syncID: syncID, limit: 1).first
      ?? RunRecord(id: id, syncID: syncID, status: .failed, startedAt: "", gitCommit: commit, rowsQueried: 0, planned: planned)
  }
}

/// Where one sync's planned rows come from: a plan file, or the planner as it plans them.
private struct PlannedRows {
  var source: any PlannedRowSource
  /// `nil` when the rows are planned as they are sent (`applyWhilePlanning`).
  var file: URL?
}

/// Where a run's changelog comes from, when the project writes sync logs.
private enum Changelog {
  case none
  case spool(ChangelogSpool)
  /// The run never started: every planned row is aborted.
  case abortedEverything
}

extension Engine {
  /// Writes a finished run into the warehouse's sync logs; the error to report when that fails.
  private func writeLogs(
    _ sync: Sync, configuration: SyncConfiguration, run: RunRecord, changelog: Changelog, planFile: URL?
  ) -> String? {
    // Sync logs need a plan file: apply plans into one whenever the project writes them.
    guard let logs = project.syncLogs, let planFile else { return nil }
    do {
      let writer = try openLogWriter(logs)
      let spool: ChangelogSpool
      switch changelog {
      case .none: return nil
      case let .spool(existing): spool = existing
      case .abortedEverything:
        spool = try ChangelogSpool(sync, configuration: configuration)
        try spool.appendAborted(everyOperationOf: sync.name.value, in: planFile)
      }
      // Rows recorded by a CDC reset are, from now on, rows the destination is taken to hold.
      let unchanged = try PlanFileRows(url: planFile, sync: sync.name.value, operations: ["unchanged", "record"])
      let model = sync.inlineModel?.name.value ?? sync.model.value
      try writer.write(
        SyncLogRun(
          run: run, syncName: sync.name.value, primaryKey: configuration.primaryKey ?? "",
          destination: "\(sync.destination.value)/\(sync.object.value)", modelName: model),
        changelog: try spool.entries(),
        unchanged: Self.unchangedEntries(unchanged), staged: stages.unchangedRows(of: sync.name.value))
      return nil
    } catch let error as SyncLogError {
      return error.message
    } catch {
      return "could not write the sync logs to source \(logs.source.value): \(FailureKind.message(of: error))"
    }
  }

  /// The `sync_snapshot` entries of the rows a run does not send: unchanged ones, and those a CDC
  /// reset recorded.
  private static func unchangedEntries(_ rows: PlanFileRows) -> () throws -> SyncLogEntry? {
    var fields = PlanFileFields(columns: [])
    return {
      while let row = try rows.next() {
        switch row {
        case let .unchanged(planned), let .record(planned):
          if rows.columns != fields.columns { fields = PlanFileFields(columns: rows.columns) }
          return SyncLogEntry(
            opType: .unchanged, rowID: planned.key, status: .succeeded, fields: fields.json(planned.values))
        case .add, .change, .remove, .reject: continue
        }
      }
      return nil
    }
  }

  private func openLogWriter(_ logs: SyncLogs) throws -> SyncLogWriter {
    let writer = logWriter ?? Result { try ConnectorRegistry.standard.syncLogWriter(logs: logs, project: project, directory: directory) }
    logWriter = writer
    return try writer.get()
  }
}

/// The row counts of one sync in a plan file's header.
private struct DataCounts {
  var basis: DataPlan.Basis
  var pending: PendingRequest.Action?
  var rowsQueried: Int
  var add: Int
  var change: Int
  var remove: Int
  var rejected: Int
  var recorded: Int
  var previousRows: Int
  var sweep: Bool
  var copy: TypedCopy?

  /// What the run is to account for: rejected rows count as planned additions that fail.
  var planned: OperationCounts { OperationCounts(add: add + rejected, change: change, remove: remove) }

  /// `nil` when the sync's rows were not planned (disabled).
  init?(_ plan: JSONValue) {
    guard case let .string(basis)? = plan["basis"], let basis = DataPlan.Basis(rawValue: basis) else { return nil }
    func count(_ key: String) -> Int { if case let .int(number)? = plan[key] { number } else { 0 } }
    self.basis = basis
    pending = if case let .string(action)? = plan["pending"] { PendingRequest.Action(rawValue: action) } else { nil }
    rowsQueried = count("rows_queried")
    add = count("add")
    change = count("change")
    remove = count("remove")
    rejected = count("duplicate_keys") + count("null_keys")
    recorded = count("recorded")
    previousRows = count("previous_rows")
    sweep = plan["sweep"] == .bool(true)
    copy = TypedCopy(json: plan["typed_copy"])
  }
}

/// What happened to one sync in an apply.
public struct SyncOutcome: Sendable {
  public var name: String
  public var id: Int?
  public var configAction: SyncPlan.ConfigAction
  /// The run, when rows were planned.
  public var run: RunRecord?
  /// Why the sync was refused or stopped.
  public var error: String?
  /// What else the user should know: retired, swept, changes not sent.
  public var notes: [String] = []
  /// Why the run could not be written to the warehouse's sync logs; the run is recorded in state.
  public var logError: String?

  public init(name: String, configAction: SyncPlan.ConfigAction) {
    self.name = name
    self.configAction = configAction
  }

  /// Every row succeeded and nothing stopped the sync.
  public var succeeded: Bool {
    error == nil && run.map { $0.status == .succeeded } ?? true
  }
}

/// Follows an apply as it goes: for progress lines and summaries.
public protocol ApplyObserver: AnyObject {
  func syncStarted(_ name: String, run: RunRecord)
  /// After every batch.
  func syncProgress(_ name: String, run: RunRecord)
  func syncFinished(_ outcome: SyncOutcome)
}

/// Why a plan file cannot be applied; nothing has been changed.
public struct ApplyError: Failure {
  public var message: String
  public var kind: FailureKind

  public init(_ message: String, kind: FailureKind = .configuration) {
    self.message = message
    self.kind = kind
  }
}
