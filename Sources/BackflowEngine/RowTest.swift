import BackflowConfig
import BackflowConnectors
import BackflowDestinations
import BackflowPlanner
import BackflowSources
import BackflowState
import Foundation

/// What `backflow test` asks: one model row, by key, sent as added, changed or removed, with
/// some of its values overridden.
public struct RowTest: Sendable {
  /// What the row is sent as; the sync's type, mode and `on_delete` turn it into an operation
  /// exactly as apply does.
  public enum Operation: String, Sendable, CaseIterable {
    case added
    case changed
    case removed
  }

  /// `--set column=value`: `value` is a JSON literal when it parses as one (`42`, `true`,
  /// `null`, `"42"`, `{"a": 1}`), and otherwise the text as it is.
  public struct Override: Sendable, Equatable {
    public var column: String
    public var value: JSONValue

    public init(column: String, value: JSONValue) {
      self.column = column
      self.value = value
    }

    /// Reads `column=value`; `nil` when there is no `=` or no column before it.
    public init?(parsing text: String) {
      guard let equals = text.firstIndex(of: "="), equals > text.startIndex else { return nil }
      column = String(text[..<equals])
      let literal = String(text[text.index(after: equals)...])
      value = (try? JSONValue.parse(literal)) ?? .string(literal)
    }
  }

  public var sync: String
  /// The primary key's value as text, as plans list keys.
  public var key: String
  public var operation: Operation
  public var overrides: [Override]

  public init(sync: String, key: String, operation: Operation = .added, overrides: [Override] = []) {
    self.sync = sync
    self.key = key
    self.operation = operation
    self.overrides = overrides
  }
}

/// A row test ready to send: the row as read and overridden, and the record apply would send
/// for it.
public struct PreparedRowTest: Sendable {
  public var test: RowTest
  /// The sync's ID in state; 0 for a sync that has not been applied yet.
  public var syncID: Int
  public var model: String
  public var primaryKey: String
  /// The model row, every column, typed as a plan file types it, overrides applied.
  public var row: JSONValue
  /// `destination/object`, as plans show it.
  public var destination: String
  /// The operation sent; `nil` when apply sends nothing for this row (`unsentReason` says why).
  public var operation: DestinationOperation?
  public var unsentReason: String?
  /// The record sent, when one is.
  public var record: DestinationRecord?
  /// The record's fields, named, in mapping order; empty for operations that send only the key.
  public var fields: [(String, JSONValue)]
  /// The batch number: part of the HTTP `Idempotency-Key` (`{sync_id}-0-{batch}`), unique per
  /// test so a server that deduplicates never swallows a second test of the same row.
  public var batchNumber: Int

  let sync: Sync
  let destinationConfig: Destination

  /// `text` without the values of the destination and mappings that came from the
  /// environment: for everything printed about the test besides the trace.
  public func redacted(_ text: String) -> String {
    DestinationTrace(secrets: DestinationTrace.secrets(of: destinationConfig, sync: sync)) { _ in }.redact(text)
  }
}

/// How a row test ended.
public enum RowTestOutcome: Sendable, Equatable {
  /// The destination accepted the record.
  case succeeded
  /// The destination refused the record, or could not be reached; the reason is its own.
  case failed(String)
  /// Apply sends nothing for this row; nothing was sent.
  case notSent(String)
  /// `--dry-run`: the destination was checked and what would be sent was reported.
  case dryRun
}

/// Why a row test could not be prepared (no such sync, key or column); nothing was sent.
public struct RowTestError: Failure, Equatable {
  public var message: String
  public var kind: FailureKind

  public init(_ message: String, kind: FailureKind = .configuration) {
    self.message = message
    self.kind = kind
  }
}

/// Runs `backflow test`: reads one model row by key, applies overrides, maps it with the sync's
/// `RecordMapper` and sends it with the same connector code as apply, outside any run. The
/// snapshot, the runs and every other part of state are left alone.
public final class RowTester {
  private let project: Project
  private let directory: URL
  private let state: StateStore

  /// `state` is only read; `directory` is the project directory.
  public init(project: Project, directory: URL, state: StateStore) {
    self.project = project
    self.directory = directory
    self.state = state
  }

  /// Reads the row and builds its record; throws `RowTestError` when the sync, the key or an
  /// overridden column does not exist.
  public func prepare(_ test: RowTest) throws -> PreparedRowTest {
    let (sync, model, destination) = try parts(of: test.sync)
    let record = try state.syncs().first { $0.name == test.sync && $0.retiredAt == nil }
    let (columns, values) = try read(test, model: model)
    let row = try overridden(columns: columns, values: values, with: test.overrides, model: model)
    try checkUsedColumns(of: sync, in: columns, model: model)

    let planned: SyncRun.PlannedOperation =
      switch test.operation {
      case .added: .add
      case .changed: .change
      case .removed: .remove
      }
    let operation = sync.destinationOperation(for: planned)
    var prepared = PreparedRowTest(
      test: test, syncID: record?.id ?? 0, model: model.name.value, primaryKey: model.primaryKey.value, row: row,
      destination: "\(sync.destination.value)/\(sync.object.value)", operation: operation,
      unsentReason: sync.unsentReason(for: planned), record: nil, fields: [],
      batchNumber: Int(Date().timeIntervalSince1970 * 1_000_000), sync: sync, destinationConfig: destination)
    guard let operation else { return prepared }

    var mapper = try RecordMapper(sync: sync, jsonColumns: project.jsonColumns(of: sync))
    let members: [(String, JSONValue)] = if case let .object(members) = row { members } else { [] }
    mapper.bind(members.map(\.0))
    let modelValues = members.map { FieldValue(json: $0.1) }
    let key = text(of: row[model.primaryKey.value] ?? .null) ?? test.key
    if planned == .remove {
      // As apply removes: by the match value the snapshot recorded, here the row's own.
      prepared.record = mapper.removal(key: key, matchValue: mapper.matchValue(of: modelValues), operation: operation)
    } else {
      do {
        prepared.record = try mapper.record(key: key, values: modelValues)
      } catch {
        throw RowTestError("the row cannot be mapped: \(FailureKind.message(of: error))")
      }
    }
    if planned != .add, let record {
      // As apply sends it: with the id the destination gave this row, when one is kept.
      prepared.record?.destinationID = try state.destinationIDs(syncID: record.id, keys: [key])[key]
        .flatMap { try? JSONValue.parse($0) }
    }
    prepared.fields = Array(zip(mapper.fields, prepared.record?.values ?? []))
    return prepared
  }

  /// A row the last apply synced and the model no longer holds, as apply would send its removal:
  /// from its snapshot entry, whose match value keys the record (`plan --show-requests`).
  public func prepareRemoval(sync name: String, key: String) throws -> PreparedRowTest {
    let (sync, model, destination) = try parts(of: name)
    guard let record = try state.syncs().first(where: { $0.name == name && $0.retiredAt == nil }) else {
      throw RowTestError("sync \(name) has not been applied, so it has synced no row to remove")
    }
    let snapshot = try state.snapshot(syncID: record.id)
    var found: SnapshotEntry?
    // Read to the end: a stream left open would keep a PostgreSQL state store's connection busy.
    while let entry = try snapshot.next() {
      if found == nil, entry.key == key { found = entry }
    }
    guard let entry = found else { throw RowTestError("the snapshot of sync \(name) has no row with key \(key)") }
    let operation = sync.destinationOperation(for: .remove)
    var prepared = PreparedRowTest(
      test: RowTest(sync: name, key: key, operation: .removed), syncID: record.id, model: model.name.value,
      primaryKey: model.primaryKey.value, row: .null, destination: "\(sync.destination.value)/\(sync.object.value)",
      operation: operation, unsentReason: sync.unsentReason(for: .remove), record: nil, fields: [],
      batchNumber: Int(Date().timeIntervalSince1970 * 1_000_000), sync: sync, destinationConfig: destination)
    guard let operation else { return prepared }
    let mapper = try RecordMapper(sync: sync)
    prepared.record = mapper.removal(key: key, matchValue: entry.matchValue, operation: operation)
    prepared.fields = Array(zip(mapper.fields, prepared.record?.values ?? []))
    return prepared
  }

  /// The sync named `name`, its model and its destination.
  private func parts(of name: String) throws -> (Sync, Model, Destination) {
    guard let sync = project.sync(named: name) else {
      throw RowTestError(
        "no sync named \(name) in the project" + Suggestion.hint(for: name, in: project.syncs.map(\.name.value)))
    }
    guard let model = project.model(of: sync) else {
      throw RowTestError("model \(sync.model.value) of sync \(name) is not declared")
    }
    guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else {
      throw RowTestError("destination \(sync.destination.value) of sync \(name) is not declared")
    }
    return (sync, model, destination)
  }

  /// Sends the prepared record: `DestinationConnectors.open`, `prepare`, `send`, and always
  /// `finish`. `trace` receives every request, statement or line and its result as it happens,
  /// secrets redacted. With `dryRun`, the destination is checked but nothing is sent.
  public func send(
    _ prepared: PreparedRowTest, dryRun: Bool = false, trace: @escaping @Sendable (DestinationTraceEvent) -> Void
  ) async -> RowTestOutcome {
    guard let operation = prepared.operation, let record = prepared.record else {
      return .notSent(prepared.unsentReason ?? "apply sends nothing for this row")
    }
    let sync = prepared.sync
    let target = DestinationTarget(
      syncName: sync.name.value, syncID: prepared.syncID, runID: 0, type: sync.type.value, mode: sync.mode.value,
      object: sync.object.value, matchField: sync.match?.field.value, fields: sync.mappings.map(\.to.value),
      concurrency: 1,
      trace: DestinationTrace(
        dryRun: dryRun, secrets: DestinationTrace.secrets(of: prepared.destinationConfig, sync: sync), trace),
      requests: sync.requests)
    let connector: any DestinationConnector
    do {
      connector = try ConnectorRegistry.standard.connector(for: prepared.destinationConfig, target: target, in: directory)
    } catch {
      return .failed(prepared.redacted(FailureKind.message(of: error)))
    }
    var outcome: RowTestOutcome
    do {
      try await connector.prepare()
      let outcomes = try await connector.send(
        DestinationBatch(number: prepared.batchNumber, operation: operation, records: [record]))
      switch outcomes.first {
      case .succeeded? where outcomes.count == 1: outcome = .succeeded
      case let .failed(reason)? where outcomes.count == 1: outcome = .failed(reason)
      default: outcome = .failed("the destination answered \(outcomes.count) outcomes for 1 record")
      }
    } catch {
      outcome = .failed(FailureKind.message(of: error))
    }
    do {
      // Connectors hold connections and clients; files are only written here.
      try await connector.finish()
    } catch {
      if outcome == .succeeded { outcome = .failed(FailureKind.message(of: error)) }
    }
    if case let .failed(reason) = outcome { return .failed(prepared.redacted(reason)) }
    return dryRun && outcome == .succeeded ? .dryRun : outcome
  }

  // MARK: Reading the row

  /// The model's columns and the one row whose key is `test.key`, typed as a plan file types it.
  private func read(_ test: RowTest, model: Model) throws -> (columns: [String], values: [JSONValue]) {
    guard let source = project.sources.first(where: { $0.name.value == model.source.value }) else {
      throw RowTestError("source \(model.source.value) of model \(model.name.value) is not declared")
    }
    let key = model.primaryKey.value
    let columns: [String]
    let rows: [ModelRow]
    do {
      let reader = try ConnectorRegistry.standard.modelReader(for: source, in: directory)
      let sql = reader.sql(of: model.relation)
      columns = try reader.columns(of: sql)
      guard columns.contains(key) else {
        throw RowTestError(
          "model \(model.name.value) does not return its primary key \(key); its columns are "
            + columns.joined(separator: ", "))
      }
      rows = try reader.rows(of: sql, key: key, equalTo: test.key, columns: columns, limit: 2)
    } catch let error as SourceError {
      throw RowTestError("model \(model.name.value): \(error.message)")
    }
    guard let row = rows.first else {
      throw RowTestError(
        "model \(model.name.value) has no row with \(key) = \(test.key) (keys compare as text, as "
          + "`backflow plan --show-rows` lists them)")
    }
    guard rows.count == 1 else {
      throw RowTestError(
        "model \(model.name.value) has more than one row with \(key) = \(test.key): a duplicate primary key "
          + "fails at apply (\"duplicate primary key\") and never reaches the destination")
    }
    return (columns, row.values.map(\.json))
  }

  /// The row as a JSON object with `overrides` applied, typed as apply reads a plan file's
  /// `fields` back.
  private func overridden(columns: [String], values: [JSONValue], with overrides: [RowTest.Override], model: Model)
    throws -> JSONValue
  {
    var members = Array(zip(columns, values))
    for override in overrides {
      guard let index = members.firstIndex(where: { $0.0 == override.column }) else {
        throw RowTestError(
          "--set \(override.column): model \(model.name.value) has no column \(override.column)"
            + Self.didYouMean(override.column, in: columns) + "; its columns are " + columns.joined(separator: ", "))
      }
      members[index].1 = override.value
    }
    let object = JSONValue.object(members)
    return (try? JSONValue.parse(object.rendered(compact: true))) ?? object
  }

  /// Fails when the sync's match or mappings name a column the model does not return, as `plan`
  /// would report it.
  private func checkUsedColumns(of sync: Sync, in columns: [String], model: Model) throws {
    let reads = (try? sync.columnReads())?.named ?? []
    if let read = reads.first(where: { !columns.contains($0.name) }) {
      throw RowTestError(
        "\(read.path) names column \"\(read.name)\", which model \(model.name.value) does not return"
          + Self.didYouMean(read.name, in: columns) + "; `backflow plan` reports every such problem")
    }
  }

  /// ` (did you mean plan?)` or nothing.
  private static func didYouMean(_ word: String, in candidates: [String]) -> String {
    Suggestion.closest(to: word, in: candidates).map { " (did you mean \($0)?)" } ?? ""
  }

  /// A key value as the text apply keys rows by.
  private func text(of value: JSONValue) -> String? {
    switch value {
    case .null: nil
    case let .string(text), let .number(text): text
    default: value.rendered(compact: true)
    }
  }
}
