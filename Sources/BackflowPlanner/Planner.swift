import BackflowConfig
import BackflowConnectors
import BackflowSources
import BackflowState
import Foundation

/// Makes a plan: compares each sync's config with state and its model's rows with its snapshot.
/// Changes nothing anywhere.
public final class Planner {
  private let project: Project
  private let directory: URL
  private let state: StateStore
  private var readers: [String: any ModelReader] = [:]
  /// Per source, whether it is the state store's own PostgreSQL database.
  private var sharesState: [String: Bool] = [:]
  private var diagnostics = Diagnostics()
  /// Whether a sync whose model is in the state store's PostgreSQL database is diffed there
  /// (docs/plan.md); off, every model is streamed and diffed here.
  public var diffsInWarehouse = true
  /// Set by apply: a model whose warehouse computes its planning copy from the rows planned
  /// (Spark) is staged there first, and its sync noted here for the engine. A plan stages nothing.
  public var stages: WarehouseStages?

  /// `directory` is the project directory, against which SQLite paths are resolved.
  public init(project: Project, directory: URL, state: StateStore) {
    self.project = project
    self.directory = directory
    self.state = state
  }

  /// Plans the syncs named in `selection` (every sync when `nil`), listing up to `sampleSize` row
  /// keys per operation and handing every planned row to `sink` when there is one.
  public func plan(
    selection: Set<String>? = nil, commit: String?, sampleSize: Int = 0, sink: (any PlannedRowSink)? = nil
  ) throws -> Plan {
    let records = try state.syncs().filter { $0.retiredAt == nil }
    var plans: [SyncPlan] = []
    for sync in project.syncs.sorted(by: { $0.name.value < $1.name.value })
    where selection?.contains(sync.name.value) ?? true {
      plans.append(try plan(sync, record: records.first { $0.name == sync.name.value }, sampleSize: sampleSize, sink: sink))
    }
    let names = Set(project.syncs.map(\.name.value))
    for record in records where !names.contains(record.name) && (selection?.contains(record.name) ?? true) {
      plans.append(
        SyncPlan(
          name: record.name, id: record.id, serial: record.serial, configAction: .retire, configChanges: [],
          config: nil, model: nil, destination: nil, enabled: false, pending: nil, data: nil, warnings: [],
          failed: false))
    }
    var plan = Plan(commit: commit, stateLineage: state.lineage, syncs: plans, diagnostics: diagnostics)
    plan.includesUnchangedRows = project.syncLogs != nil
    return plan
  }

  private func plan(_ sync: Sync, record: SyncRecord?, sampleSize: Int, sink: (any PlannedRowSink)?) throws -> SyncPlan {
    let config = try SyncConfiguration(sync: sync, in: project)
    let applied = try record?.config.map(SyncConfiguration.init(stored:))
    let changes = applied.map { config.changes(since: $0) } ?? []
    let model = project.model(of: sync)
    var plan = SyncPlan(
      name: sync.name.value, id: record?.id, serial: record?.serial,
      configAction: applied == nil ? .create : changes.isEmpty ? .none : .update, configChanges: changes,
      config: config, model: model?.name.value, dbt: model?.dbtDescription, destination: "\(sync.destination.value)/\(sync.object.value)",
      enabled: sync.enabled.value, pending: record?.pending, data: nil, warnings: [], failed: false)
    guard sync.enabled.value, let model else { return plan }
    do {
      plan.data = try planRows(
        sync, model: model, config: config, applied: applied, record: record, sampleSize: sampleSize, sink: sink,
        warnings: &plan.warnings)
    } catch let failure as PlanningFailure {
      if let message = failure.message, let location = failure.location { diagnostics.error(message, at: location) }
      plan.failed = true
    }
    return plan
  }

  private func planRows(
    _ sync: Sync, model: Model, config: SyncConfiguration, applied: SyncConfiguration?, record: SyncRecord?,
    sampleSize: Int, sink: (any PlannedRowSink)?, warnings: inout [String]
  ) throws -> DataPlan {
    let reader = try reader(for: model)
    var sql = reader.sql(of: model.relation)
    let available = try failing(model) { try reader.columns(of: sql) }
    let used = try usedColumns(of: sync, model: model, available: available)
    // Sync logs record the whole model row, and every unchanged row for `sync_snapshot`; the
    // fingerprint still covers only the columns the sync uses. Only a plan that is kept needs them.
    let logging = project.syncLogs != nil && sink != nil
    let columns = logging ? available : used
    let usedIndexes = logging ? used.compactMap { available.firstIndex(of: $0) } : nil
    let key = model.primaryKey.value
    let fingerprint = config.fingerprint
    let pending = record?.pending?.action
    let previousKey = record?.primaryKey
    let keyChanged = previousKey != nil && previousKey != key
    // Only a plain diff can leave unchanged rows in the warehouse: a first run, a request or a new
    // key sends or records every row.
    let plainDiff = record != nil && pending == nil && !keyChanged
    // Sync logs in the staging warehouse itself read the rows the diff leaves there from the stage.
    var snapshotRows: WarehouseSnapshotRows?
    if let stages, let planning = reader as? any WarehousePlanning, diffsInWarehouse,
      let staged = try failing(model, {
        try planning.stage(
          sql, syncName: sync.name.value, key: key, columns: columns, used: used, signature: fingerprint.signature)
      })
    {
      sql = staged
      stages.insert(sync.name.value)
      if logging, plainDiff, project.syncLogs?.source.value == model.source.value {
        snapshotRows = try failing(model) { try planning.snapshotRows(ofStaged: staged, columns: columns) }
      }
    }

    var data = DataPlan(basis: pending != nil || keyChanged ? .replaced : .previous)
    if keyChanged, let record, let previousKey {
      let count = try state.snapshotCount(syncID: record.id)
      data.previousRows = count
      warnings.append(
        "the primary key changed from \(previousKey) to \(key): the snapshot of \(count) rows keyed by \(previousKey) "
          + "is discarded (CDC reset), every row is sent as added and none is removed")
    }
    let next: () throws -> RowComparison?
    var warehouse: WarehouseRowDiff?
    // Sync logs list every row here (only Spark planning leaves rows to them, and keeps no typed
    // copy), so their plans read the model whole and keep no copy.
    if !logging {
      data.typedCopy = try typedCopy(model, reader: reader, sql: sql, columns: columns, signature: fingerprint.signature)
    }
    // Sync logs list every row unless they read the unchanged ones where they stay.
    if plainDiff, !logging || snapshotRows != nil, let record,
      let stream = try warehouseDiff(
        model, reader: reader, sql: sql, syncID: record.id, columns: columns, used: used,
        signature: fingerprint.signature, data: &data, warnings: &warnings)
    {
      let diff = WarehouseRowDiff(stream: stream, fingerprint: fingerprint, usedIndexes: usedIndexes) { [state] keys in
        try state.entries(syncID: record.id, keys: keys)
      }
      warehouse = diff
      next = diff.next
      if let snapshotRows, let stages { stages.leavesUnchangedRows(sync.name.value, in: snapshotRows) }
    } else {
      let snapshot = try record.flatMap { keyChanged ? nil : try state.snapshot(syncID: $0.id) }
      let rows = try failing(model) { try reader.rows(of: sql, key: key, columns: columns) }
      let diff = RowDiff(
        rows: {
          try rows.next().map { row in
            let fingerprinted = usedIndexes.map { indexes in indexes.map { row.values[$0] } } ?? row.values
            return FingerprintedRow(key: row.key, fingerprint: fingerprint.of(fingerprinted), values: row.values)
          }
        }, snapshot: { try snapshot?.next() })
      next = diff.next
    }

    try sink?.begin(sync: sync.name.value, columns: columns, copy: data.typedCopy)
    func emit(_ operation: DataPlan.Operation, _ key: String, _ row: PlannedRow) throws {
      if data.sampleKeys[operation, default: []].count < sampleSize { data.sampleKeys[operation, default: []].append(key) }
      try sink?.write(row)
    }
    while let comparison = try failing(model, { try next() }) {
      switch comparison {
      case let .rejected(row, reason):
        data.rowsQueried += 1
        if reason == .duplicateKey { data.duplicateKeys += 1 } else { data.nullKeys += 1 }
        if data.rejectedKeys.count < sampleSize { data.rejectedKeys.append(row.key ?? "NULL") }
        try sink?.write(.reject(row, reason))
      case let .removed(entry):
        data.previousRows += 1
        if pending == nil {
          data.remove += 1
          try emit(.remove, entry.key, .remove(entry))
        } else {
          data.ignoredRemovals += 1
        }
      case let .added(row), let .changed(row, _), let .unchanged(row):
        data.rowsQueried += 1
        if case .added = comparison {} else { data.previousRows += 1 }
        let key = row.key ?? ""
        switch (pending, comparison) {
        case (.resetCDC?, _):
          data.recorded += 1
          try sink?.write(.record(row))
        case (.resync?, _), (.resyncClear?, _), (nil, .added):
          data.add += 1
          try emit(.add, key, .add(row))
        case (nil, .changed):
          data.change += 1
          try emit(.change, key, .change(row))
        default:
          data.unchanged += 1
          // Through the typed copy, an unchanged row comes back only when the copy lacks its
          // values (or holds them in another binary form): apply records them.
          if logging || warehouse?.comparedWithCopy == true { try sink?.write(.unchanged(row)) }
        }
      }
    }
    if let warehouse {
      // The rows whose fingerprint matched stayed in the warehouse: every snapshot entry not
      // compared above is one of them.
      let kept = warehouse.snapshotRows - data.previousRows
      data.unchanged += kept
      data.rowsQueried += kept
      data.previousRows += kept
      data.diffedInWarehouse = true
      data.comparedWithCopy = warehouse.comparedWithCopy
    }
    warnings += rowWarnings(
      sync, model: model, data: data, config: config, applied: applied, pending: pending, keyChanged: keyChanged)
    if sync.mode.value == .mirror, record?.sweptAt == nil {
      // Only a plan that holds every model row knows which destination records are absent.
      data.sweep = data.basis == .replaced || data.previousRows == 0
      warnings.append(
        data.sweep
          ? "first mirror run: records in \(sync.destination.value)/\(sync.object.value) whose \(sync.match?.field.value ?? "match") "
            + "is not among the model's rows are deleted once every row has been sent"
          : "mirror's first-run sweep has not completed: run `backflow resync \(sync.name.value)` to delete the records absent from the model")
    }
    return data
  }

  /// The diff in the warehouse, when one can run: against the copy of the snapshot a source with
  /// `planning:` keeps, or against the state store's own when it is in the model's database.
  private func warehouseDiff(
    _ model: Model, reader: any ModelReader, sql: ModelSQL, syncID: Int, columns: [String], used: [String],
    signature: String, data: inout DataPlan, warnings: inout [String]
  ) throws -> (any WarehouseDiffStream)? {
    let key = model.primaryKey.value
    if let planning = reader as? any WarehousePlanning, let schema = planning.planningSchema {
      guard diffsInWarehouse else { return nil }
      return try plannedDiff(
        model, planning: planning, schema: schema, sql: sql, syncID: syncID, columns: columns, used: used,
        signature: signature, data: &data, warnings: &warnings)
    }
    guard let table = state.postgresSnapshotsTable, let snapshot = state.warehouseSnapshot(syncID: syncID),
      let diffing = try warehouseDiffing(for: model, reader: reader, table: table)
    else { return nil }
    let warehouseCopy = data.typedCopy.map {
      WarehouseCopy(
        table: StateStore.typedCopyTable(syncID: syncID), check: StateStore.typedCopyCheck(syncID: syncID, stamp: $0.stamp),
        textKey: $0.keyType.hasPrefix("text"), types: $0.types)
    }
    let stream = try failing(model) {
      try diffing.diff(
        sql, relation: sql.table, key: key, columns: columns, signature: signature,
        snapshot: WarehouseSnapshot(entries: snapshot.entries, count: snapshot.count, copy: warehouseCopy))
    }
    // A copy apply must rewrite or fill counts as a change, as a stale planning copy does, so
    // that apply runs the sync even with no rows to send; one the source may not read does not
    // (apply could do nothing about it).
    switch stream.typedCopy {
    case let .compared(lacking)? where lacking > 0:
      data.rewritesPlanningCopy = true
      warnings.append(
        "typed copy: \(plural(lacking, "row")) of the copy of this sync's snapshot \(lacking == 1 ? "has" : "have") no "
          + "values yet (the copy was rebuilt): they were fingerprinted in the database, and apply records their values")
    case .behind?:
      data.rewritesPlanningCopy = true
      warnings.append(
        "typed copy: the copy of this sync's snapshot is missing or out of date (its columns, their types or the "
          + "mappings changed, or the snapshot was written without it): every row was fingerprinted in the database "
          + "instead; apply rewrites the copy")
    case .unreadable?:
      warnings.append(
        "typed copy: the source's role may not read the copy of this sync's snapshot (it needs SELECT on "
          + "backflow_state.typed_copies, backflow_state.snapshot_versions and "
          + "\(StateStore.typedCopyTable(syncID: syncID))): every row was fingerprinted in the database instead")
    case .compared?, nil:
      break
    }
    return stream
  }

  /// The typed copy apply keeps of the sync's snapshot (docs/state.md), when the model's source
  /// can diff in the state store's database and holds the key and `columns` in types the copy
  /// can keep.
  private func typedCopy(
    _ model: Model, reader: any ModelReader, sql: ModelSQL, columns: [String], signature: String
  ) throws -> TypedCopy? {
    // A store not created yet is asked only whether it is the model's database: the first apply
    // creates it, and keeps the copy from its first rows.
    guard state.isPostgres,
      let diffing = try warehouseDiffing(for: model, reader: reader, table: state.postgresSnapshotsTable),
      let layout = try failing(model, { try diffing.typedCopyLayout(sql, key: model.primaryKey.value, columns: columns) })
    else { return nil }
    let stamp = [
      "typed copy 1", signature, "key " + layout.keyType, "columns " + zip(columns, layout.types).map { "\($0) \($1)" }.joined(separator: ", "),
      "settings " + layout.settings,
    ]
    return TypedCopy(keyType: layout.keyType, types: layout.types, stamp: stamp.joined(separator: "\n"))
  }

  /// The diff against the warehouse's copy of the snapshot when that copy is the state store's
  /// snapshot: the same lineage and version, and as many rows. Otherwise `nil` and a warning, so
  /// the plan diffs here against the state store's snapshot, never against a stale copy, and
  /// apply runs the sync to write the copy anew.
  private func plannedDiff(
    _ model: Model, planning: any WarehousePlanning, schema: String, sql: ModelSQL, syncID: Int, columns: [String],
    used: [String], signature: String, data: inout DataPlan, warnings: inout [String]
  ) throws -> (any WarehouseDiffStream)? {
    let fallback = "planned against the state store's snapshot in Backflow instead; apply rewrites the copy"
    let expected = WarehouseSnapshotVersion(lineage: state.lineage ?? "", version: try state.snapshotVersion(syncID: syncID))
    let found: WarehouseSnapshotVersion?
    do {
      found = try planning.plannedSnapshotVersion(syncID: syncID)
    } catch {
      warnings.append("warehouse planning: could not read the snapshot's version in schema \(schema) (\(error)); " + fallback)
      return nil
    }
    guard let found, found == expected else {
      data.rewritesPlanningCopy = true
      warnings.append(
        "warehouse planning: "
          + (found.map { "the snapshot in schema \(schema) is at \($0), not \(expected) as the state store records" }
            ?? "the snapshot in schema \(schema) is missing (the state store's is at \(expected))")
          + "; " + fallback)
      return nil
    }
    let stream = try failing(model) {
      try planning.diff(
        sql, key: model.primaryKey.value, columns: columns, used: used, signature: signature, syncID: syncID)
    }
    let count = try state.snapshotCount(syncID: syncID)
    guard stream.snapshotRows == count else {
      data.rewritesPlanningCopy = true
      warnings.append(
        "warehouse planning: the snapshot in schema \(schema) holds \(plural(stream.snapshotRows, "row")), "
          + "the state store's \(count); " + fallback)
      return nil
    }
    return stream
  }

  /// The source of `model` when it can diff in the state store's database, which it reaches and
  /// may read `table` in; asked once per source, and any failure to tell means no.
  private func warehouseDiffing(for model: Model, reader: any ModelReader, table: String?) throws
    -> (any WarehouseDiffing)?
  {
    guard diffsInWarehouse, let diffing = reader as? any WarehouseDiffing else { return nil }
    let source = model.source.value
    if sharesState[source] == nil {
      sharesState[source] = ((try? state.withSessionMark { try diffing.reaches($0, reading: table) }) ?? nil) ?? false
    }
    return sharesState[source] == true ? diffing : nil
  }

  /// Duplicate and NULL keys, a mass removal, and a mapping change that touches every row.
  private func rowWarnings(
    _ sync: Sync, model: Model, data: DataPlan, config: SyncConfiguration, applied: SyncConfiguration?,
    pending: PendingRequest.Action?, keyChanged: Bool
  ) -> [String] {
    var warnings: [String] = []
    let key = model.primaryKey.value
    if data.duplicateKeys > 0 {
      warnings.append(
        "duplicate primary keys (\(key)): \(plural(data.duplicateKeys, "row")) repeat the key of another row; one row "
          + "per key is planned and the repeats will fail at apply with \"duplicate primary key\"")
    }
    if data.nullKeys > 0 {
      warnings.append(
        "NULL primary keys (\(key)) in \(plural(data.nullKeys, "row")): they cannot be tracked and will fail at apply "
          + "with \"primary key is NULL\"")
    }
    if data.remove > 0, data.remove > sync.maxRemove.value.limit(of: data.previousRows) {
      let share = data.previousRows == 0 ? 100 : data.remove * 100 / data.previousRows
      warnings.append(
        "removes \(data.remove) of the \(data.previousRows) rows last synced (\(share)%), more than max_remove "
          + "\(sync.maxRemove.value): apply will refuse this sync unless --allow-mass-delete is given")
    }
    if let applied, !keyChanged, applied.fingerprint != config.fingerprint, data.previousRows > 0 {
      warnings.append(
        "the match or mappings changed, so every row already synced is sent again: \(data.change) planned as changed")
    }
    switch pending {
    case .resync?, .resyncClear?:
      warnings.append(
        "a resync was requested: every row is sent as added without diffing"
          + (data.ignoredRemovals > 0
            ? ", and \(plural(data.ignoredRemovals, "row")) that left the model \(data.ignoredRemovals == 1 ? "is" : "are") not removed"
            : ""))
    case .resetCDC?:
      warnings.append("a CDC reset was requested: \(data.recorded) rows are recorded as the new snapshot and none is sent")
    default:
      break
    }
    return warnings
  }

  /// The model columns the sync reads, sorted; each missing one, and each `json:` column the
  /// model does not return, is reported where the config names it.
  private func usedColumns(of sync: Sync, model: Model, available: [String]) throws -> [String] {
    let reads: ColumnReads
    do {
      reads = try sync.columnReads()
    } catch let error as ColumnReadError {
      // Validation reports this first; a plan must not guess which columns a template reads.
      throw PlanningFailure(message: error.message, location: error.location)
    }
    let wanted =
      [ColumnRead(name: model.primaryKey.value, location: model.primaryKey.location, path: "primary_key")]
      + reads.named + model.json.map { ColumnRead(name: $0.value, location: $0.location, path: "json") }
    let missing = wanted.filter { !available.contains($0.name) }
    guard missing.isEmpty else {
      for column in missing {
        let reading = column.path.hasPrefix("requests.") ? "reads record.row.\(column.name)" : "names column \"\(column.name)\""
        diagnostics.error(
          "\(column.path) \(reading), which model \(model.name.value) does not return"
            + Suggestion.hint(for: column.name, in: available) + "; its columns are \(available.joined(separator: ", "))",
          at: column.location)
      }
      throw PlanningFailure.reported
    }
    return reads.used(of: available)
  }

  private func reader(for model: Model) throws -> any ModelReader {
    if let reader = readers[model.source.value] { return reader }
    guard let source = project.sources.first(where: { $0.name.value == model.source.value }) else {
      throw PlanningFailure(message: "source \(model.source.value) is not declared", location: model.source.location)
    }
    let location = source.address
    let reader = try failing(at: location, "source \(source.name.value)") {
      try ConnectorRegistry.standard.modelReader(for: source, in: directory)
    }
    readers[model.source.value] = reader
    return reader
  }

  /// Runs `body`, turning a source's error into a failure reported at `location`.
  private func failing<Result>(
    at location: SourceLocation, _ subject: String, query: String? = nil, _ body: () throws -> Result
  ) throws -> Result {
    do {
      return try body()
    } catch let error as SourceError {
      var message = "\(subject): \(error.message)"
      if let position = error.position, let query {
        message += " (line \(query.prefix(position).count { $0 == "\n" } + 1) of the query)"
      }
      throw PlanningFailure(message: message, location: location)
    }
  }

  /// Runs `body`, reporting a source's error at the model's query or table.
  private func failing<Result>(_ model: Model, _ body: () throws -> Result) throws -> Result {
    switch model.relation {
    case let .query(sql): try failing(at: sql.location, "model \(model.name.value)", query: sql.value, body)
    case let .table(name): try failing(at: name.location, "model \(model.name.value)", body)
    case let .dbt(relation):
      try failing(at: relation.model.location, "model \(model.name.value) (dbt:\(relation.model.value) → \(relation.name))", body)
    }
  }
}

/// Why one sync's rows could not be planned; the message is already written for the user.
struct PlanningFailure: Error {
  var message: String?
  var location: SourceLocation?

  /// The problems are already in the plan's diagnostics.
  static let reported = PlanningFailure(message: nil, location: nil)
}

extension MaxRemove {
  /// The most rows a plan may remove from a snapshot of `previous` rows.
  public func limit(of previous: Int) -> Int {
    switch self {
    case let .percent(share): Int((Double(previous) * share / 100).rounded(.down))
    case let .rows(count): count
    }
  }
}
