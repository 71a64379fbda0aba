import BackflowConfig
import BackflowConnectors
import BackflowDestinations
import BackflowPlanner
import BackflowSources
import BackflowState
import Foundation

/// The data half of `backflow drift`: compares each object sync's destination records with what
/// Backflow last wrote to them, without changing anything (until `repair`).
///
/// Backflow keeps fingerprints, not the values it sent. The model's rows and the snapshot are
/// merged as the planner merges them (`RowDiff`); a row whose fingerprint equals the snapshot's
/// was last written as the current row maps (`RecordMapper`), so those records are looked up by
/// match value in batches and compared field by field. Rows planned as added, changed or removed
/// are pending changes, counted but not compared. Memory holds one batch, plus the keys of
/// drifted rows when repairing.
public final class DataDrift {
  /// Records looked up per destination query.
  public static let batchSize = 500

  private let project: Project
  private let directory: URL
  private let state: StateStore
  private let sampleSize: Int
  private let collectsKeys: Bool
  /// The model keys of the drifted rows of each sync checked, by sync ID: what `repair` drops.
  private var drifted: [Int: [String]] = [:]

  /// `state` is only read; `directory` is the project directory; `sampleSize` records of each
  /// kind are kept to show. Without `repairing`, the keys of drifted rows are not kept and
  /// `repair` has nothing to drop.
  public init(project: Project, directory: URL, state: StateStore, sampleSize: Int = 5, repairing: Bool = true) {
    self.project = project
    self.directory = directory
    self.state = state
    self.sampleSize = sampleSize
    collectsKeys = repairing
  }

  /// Config and data drift of the syncs in `selection` (every sync when `nil`), the config half
  /// first; orphaned syncs get no data check.
  public func report(selection: Set<String>? = nil, commit: String?) async throws -> DriftReport {
    let records = try state.syncs()
    var report = try DriftReport.configDrift(project: project, records: records, selection: selection, commit: commit)
    for index in report.syncs.indices {
      guard let sync = project.sync(named: report.syncs[index].name) else { continue }
      let record = records.first { $0.name == sync.name.value && $0.retiredAt == nil }
      report.syncs[index].data = await check(sync, record: record, config: report.syncs[index].config)
    }
    return report
  }

  /// Drops the snapshot rows of every drifted record found by `report` (differing and missing),
  /// so the next plan has them as added and the next apply sends them again. `writable` is the
  /// state store opened for writing. Returns the rows dropped per sync ID.
  @discardableResult
  public func repair(_ report: inout DriftReport, writable: StateStore) throws -> [Int: Int] {
    var dropped: [Int: Int] = [:]
    for index in report.syncs.indices {
      guard let id = report.syncs[index].id, report.syncs[index].data?.status == .checked else { continue }
      let keys = drifted[id] ?? []
      if !keys.isEmpty { try writable.updateSnapshot(syncID: id, entries: [], removedKeys: keys) }
      dropped[id] = keys.count
      report.syncs[index].data?.repaired = keys.count
    }
    report.repaired = true
    return dropped
  }

  // MARK: One sync

  /// Compares one sync's records, or says why they are not compared.
  func check(_ sync: Sync, record: SyncRecord?, config: DriftConfig) async -> DriftData {
    let destinationName = "\(sync.destination.value)/\(sync.object.value)"
    func notChecked(_ reason: String) -> DriftData { DriftData(status: .notChecked(reason), destination: destinationName) }
    guard let record, record.config != nil else { return notChecked("never applied: nothing was written yet") }
    guard sync.enabled.value else { return notChecked("disabled (enabled: false)") }
    switch sync.type.value {
    case .event: return notChecked("event syncs insert events, which Backflow does not read back")
    case .list: return notChecked("list syncs are not read back")
    case .object: break
    }
    guard sync.mode.value != .insert else {
      return notChecked("insert mode never updates records, so what Backflow last wrote is not known")
    }
    guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else {
      return notChecked("destination \(sync.destination.value) is not declared")
    }
    if let refusal = destination.driver.readRefusal(destination.settings, sync: sync) { return notChecked(refusal) }
    guard let match = sync.match else { return notChecked("the sync has no match, so its records cannot be found") }
    let moving = config.movingChanges(to: destination)
    guard moving.isEmpty else {
      return notChecked(
        "the config changed where the records are (\(moving.map(\.path).joined(separator: ", "))) since the last "
          + "apply; apply first")
    }
    guard let model = project.model(of: sync) else {
      return notChecked("model \(sync.model.value) is not declared")
    }
    if let previous = record.primaryKey, previous != model.primaryKey.value {
      return notChecked("the primary key changed from \(previous) to \(model.primaryKey.value) since the last apply; apply first")
    }

    var data = DriftData(status: .checked, destination: destinationName)
    var keys: [String] = []
    do {
      try await compare(sync, model: model, match: match, destination: destination, record: record, into: &data, keys: &keys)
    } catch {
      data.status = .failed(FailureKind.message(of: error))
    }
    drifted[record.id] = keys
    return data
  }

  private func compare(
    _ sync: Sync, model: Model, match: Sync.Match, destination: Destination, record: SyncRecord,
    into data: inout DriftData, keys drifted: inout [String]
  ) async throws {
    guard let source = project.sources.first(where: { $0.name.value == model.source.value }) else {
      throw PlanError("source \(model.source.value) of model \(model.name.value) is not declared")
    }
    let reader = try ConnectorRegistry.standard.modelReader(for: source, in: directory)
    let sql = reader.sql(of: model.relation)
    let columns = try usedColumns(of: sync, model: model, available: try reader.columns(of: sql))
    var mapper = try RecordMapper(sync: sync, jsonColumns: project.jsonColumns(of: sync))
    mapper.bind(columns)
    let fingerprint = try SyncConfiguration(sync: sync, in: project).fingerprint
    let target = DestinationTarget(
      syncName: sync.name.value, syncID: record.id, runID: 0, type: sync.type.value, mode: sync.mode.value,
      object: sync.object.value, matchField: match.field.value, fields: mapper.fields, concurrency: 1,
      requests: sync.requests)
    let destinationReader = try ConnectorRegistry.standard.reader(for: destination, target: target, in: directory)
    // Mirror's extras are records no model row or snapshot row names; before the first-run sweep
    // has deleted them they are pending, not drift.
    let checksExtras = sync.mode.value == .mirror && record.sweptAt != nil
    if sync.mode.value == .mirror, !checksExtras {
      data.extraNote =
        "mirror's first-run sweep has not completed, so records absent from the model are still to be deleted "
        + "(`backflow plan` says how)"
    }

    let snapshot = try state.snapshot(syncID: record.id)
    let rows = try reader.rows(of: sql, key: model.primaryKey.value, columns: columns)
    let diff = RowDiff(
      rows: {
        try rows.next().map { FingerprintedRow(key: $0.key, fingerprint: fingerprint.of($0.values), values: $0.values) }
      }, snapshot: { try snapshot.next() })

    var batch: [(key: String, record: DestinationRecord)] = []
    var expected: [JSONValue] = []
    func flush() async throws {
      if !batch.isEmpty {
        let results = try await destinationReader.compare(batch.map(\.record))
        for ((key, record), result) in zip(batch, results) {
          data.compared += 1
          let shown = Self.text(of: record.key)
          switch result {
          case .same:
            continue
          case .missing:
            data.missing += 1
            if data.missingSample.count < sampleSize { data.missingSample.append(.init(key: key, match: shown)) }
          case let .differs(fields):
            data.differing += 1
            if data.differingSample.count < sampleSize {
              data.differingSample.append(
                .init(
                  key: key, match: shown,
                  fields: fields.map { .init(name: $0.field, destination: $0.destination, written: $0.written) }))
            }
          }
          if collectsKeys { drifted.append(key) }
        }
        batch.removeAll(keepingCapacity: true)
      }
      if !expected.isEmpty {
        try await destinationReader.expect(expected)
        expected.removeAll(keepingCapacity: true)
      }
    }

    while let comparison = try diff.next() {
      switch comparison {
      case let .unchanged(row):
        let values = Self.object(columns: columns, values: row.values)
        do {
          // The values as apply reads them back from a plan file.
          batch.append((row.key ?? "", try mapper.record(key: row.key ?? "", values: Self.planned(values))))
        } catch {
          // A template that cannot render this row failed it at apply; it is not drift.
          data.pending += 1
        }
        if checksExtras { expected.append(Self.matchValue(values, column: match.column.value)) }
      case let .added(row), let .changed(row, _):
        data.pending += 1
        if checksExtras {
          expected.append(Self.matchValue(Self.object(columns: columns, values: row.values), column: match.column.value))
        }
      case let .removed(entry):
        data.pending += 1
        if checksExtras, let text = entry.matchValue, let value = try? JSONValue.parse(text) { expected.append(value) }
      case let .rejected(row, _):
        data.rejected += 1
        if checksExtras {
          expected.append(Self.matchValue(Self.object(columns: columns, values: row.values), column: match.column.value))
        }
      }
      if batch.count >= Self.batchSize || expected.count >= Self.batchSize { try await flush() }
    }
    try await flush()
    if checksExtras {
      let (count, sample) = try await destinationReader.unexpected(sample: sampleSize)
      data.extra = count
      data.extraSample = sample
    }
    // On failure the reader lets go when it is released.
    await destinationReader.close()
  }

  // MARK: Helpers

  /// The model columns the sync reads besides the primary key, sorted: what its fingerprint covers,
  /// as the planner computes it.
  private func usedColumns(of sync: Sync, model: Model, available: [String]) throws -> [String] {
    let reads = try sync.columnReads()
    let missing = ([model.primaryKey.value] + reads.named.map(\.name)).filter { !available.contains($0) }
    guard missing.isEmpty else {
      throw PlanError(
        "model \(model.name.value) does not return \(Array(Set(missing)).sorted().joined(separator: ", ")), which the sync reads; "
          + "`backflow plan` says more")
    }
    return reads.used(of: available)
  }

  /// A model row as the JSON object apply reads back from a plan file, typed the same way.
  private static func object(columns: [String], values: [FieldValue]) -> JSONValue {
    let object = JSONValue.object(Array(zip(columns, values.map(\.json))))
    return (try? JSONValue.parse(object.rendered(compact: true))) ?? object
  }

  /// The values of an object from `object(columns:values:)`, in its columns' order.
  private static func planned(_ object: JSONValue) -> [FieldValue] {
    if case let .object(members) = object { members.map { FieldValue(json: $0.1) } } else { [] }
  }

  private static func matchValue(_ row: JSONValue, column: String) -> JSONValue {
    row[column] ?? .null
  }

  /// A match value as text: strings as they are, other values as JSON.
  private static func text(of value: JSONValue) -> String {
    if case let .string(text) = value { return text }
    return value.rendered(compact: true)
  }
}
