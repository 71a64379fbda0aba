import BackflowConfig

/// What one run of a sync asks of its destination; fixed for the run.
public struct DestinationTarget: Sendable {
  public var syncName: String
  public var syncID: Int
  public var runID: Int
  public var type: Sync.Kind
  public var mode: Sync.Mode
  /// The table, API object or file name (`object:`).
  public var object: String
  /// The destination field records are matched on (`match:`); `nil` for syncs that only insert,
  /// whose record keys are the model's primary key.
  public var matchField: String?
  /// The destination fields the mappings write, in mapping order; `DestinationRecord.values`
  /// follow this order.
  public var fields: [String]
  /// How many batches may be in flight at once.
  public var concurrency: Int
  /// Reports each request, statement or line and its result (`backflow test`); `nil` for
  /// apply.
  public var trace: DestinationTrace?
  /// The request each operation sends (`requests:`), for a rest destination.
  public var requests: RequestTemplates?

  public init(
    syncName: String, syncID: Int, runID: Int, type: Sync.Kind, mode: Sync.Mode, object: String,
    matchField: String?, fields: [String], concurrency: Int, trace: DestinationTrace? = nil,
    requests: RequestTemplates? = nil
  ) {
    self.requests = requests
    self.syncName = syncName
    self.syncID = syncID
    self.runID = runID
    self.type = type
    self.mode = mode
    self.object = object
    self.matchField = matchField
    self.fields = fields
    self.concurrency = concurrency
    self.trace = trace
  }
}

extension DestinationTarget {
  /// The mapped fields with `values`, nested by their dotted names: `properties.firstname`
  /// writes `{"properties": {"firstname": …}}` (http and rest destinations; JSON Lines files
  /// write each field into the line's object the same way, `FileTable`).
  public func nestedFields(_ values: [JSONValue]) -> JSONValue {
    var fields: JSONValue = .object([])
    for (field, value) in zip(self.fields, values) { fields.set(value, at: Self.path(field)) }
    return fields
  }

  /// The value of `field` in an object with nested fields, as `nestedFields` wrote it.
  public static func value(of field: String, in fields: JSONValue) -> JSONValue? {
    path(field).reduce(Optional(fields)) { found, step in found?[step] }
  }

  /// The steps of a field's dotted name: `properties.firstname` is properties, firstname.
  static func path(_ field: String) -> [String] {
    field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
  }
}

/// What a batch asks the destination to do to each of its records (the HTTP protocol's
/// `operation`).
public enum DestinationOperation: String, Sendable, CaseIterable {
  /// Create or update by the match field.
  case upsert
  /// Update an existing record; a missing one fails with "not found".
  case update
  /// Create; nothing is matched.
  case insert
  /// Delete the record with this match value.
  case delete
  /// Set every mapped field of the matched record to null (`on_delete: clear`).
  case clearFields = "clear_fields"
  /// Add a member to a list.
  case add
  /// Remove a member from a list.
  case remove
  /// Record one event.
  case track
  /// Empty the object (`resync --clear`); sent alone, never with records.
  case clear
}

/// One record of a batch.
public struct DestinationRecord: Sendable, Equatable {
  /// The match field's value, typed as the model gave it; for syncs without `match`, the model
  /// row's primary key as text.
  public var key: JSONValue
  /// The mapped fields' values in `DestinationTarget.fields` order; empty for `delete` and
  /// `remove`.
  public var values: [JSONValue]
  /// The model row, column → value, when the sync's request templates read it (`record.row`);
  /// `nil` otherwise, and for rows that left the model.
  public var row: JSONValue?
  /// The id the destination's API gave this record, as kept in state (a rest request's
  /// `record.destination_id`); `nil` when none is kept.
  public var destinationID: JSONValue?

  public init(key: JSONValue, values: [JSONValue], row: JSONValue? = nil, destinationID: JSONValue? = nil) {
    self.key = key
    self.values = values
    self.row = row
    self.destinationID = destinationID
  }
}

/// Records sent together: one request, one transaction, one COPY.
public struct DestinationBatch: Sendable {
  /// 1-based within the run; part of the HTTP `Idempotency-Key` (`{sync_id}-{run_id}-{batch}`).
  public var number: Int
  public var operation: DestinationOperation
  public var records: [DestinationRecord]

  public init(number: Int, operation: DestinationOperation, records: [DestinationRecord]) {
    self.number = number
    self.operation = operation
    self.records = records
  }
}

/// What happened to one record.
public enum RecordOutcome: Sendable, Equatable {
  case succeeded
  /// The destination's own reason (a constraint's message, an API's `error`, "not found").
  case failed(String)
}

/// A destination, opened for one run of one sync. Batches may be sent concurrently, up to the
/// target's `concurrency`.
public protocol DestinationConnector: Sendable {
  /// Checks, before anything is sent, that the destination can take this sync: the object exists,
  /// the fields exist, the match field is unique. Throws a `DestinationError` that says what to fix.
  func prepare() async throws

  /// Sends one batch and returns one outcome per record, in order. A rejected record fails alone.
  /// Throws only when the batch could not be attempted at all (the connection is gone); its
  /// records then fail with the error's message and the run stops.
  func send(_ batch: DestinationBatch) async throws -> [RecordOutcome]

  /// As `send`, with the id the destination gave each record when its answer names one (a rest
  /// request's `result.id`, or one found by `read:`): kept in state for the row's later requests.
  func sendKeepingIDs(_ batch: DestinationBatch) async throws -> [DeliveredRecord]

  /// Whether records need the ids kept in state (`DestinationRecord.destinationID`) when they
  /// are sent.
  var readsDestinationIDs: Bool { get }

  /// Empties the object (`resync --clear`). Only called when the capabilities allow it.
  func clear() async throws

  /// Starts mirror's first-run sweep: after every key of the model has been passed to `keep`,
  /// `finish` deletes the destination's records whose match value is not among them.
  func sweep() async throws -> any DestinationSweep

  /// Called once after the last batch. Destinations that write at the end (files) make every
  /// batch durable here; until it returns, their outcomes are provisional.
  func finish() async throws

  /// Whether outcomes only hold once `finish` returns; the engine then advances the snapshot after it.
  var writesAtFinish: Bool { get }
}

extension DestinationConnector {
  public func sendKeepingIDs(_ batch: DestinationBatch) async throws -> [DeliveredRecord] {
    try await send(batch).map { DeliveredRecord(outcome: $0) }
  }

  public var readsDestinationIDs: Bool { false }
}

/// What became of one record sent, and the destination's own id for it when one is known.
public struct DeliveredRecord: Sendable, Equatable {
  public var outcome: RecordOutcome
  public var destinationID: JSONValue?

  public init(outcome: RecordOutcome, destinationID: JSONValue? = nil) {
    self.outcome = outcome
    self.destinationID = destinationID
  }
}

/// Mirror's first run: the keys to keep, then one deletion of the rest.
public protocol DestinationSweep: Sendable {
  func keep(_ keys: [JSONValue]) async throws
  /// Deletes the records absent from the kept keys and returns how many it deleted.
  func finish() async throws -> Int
}

/// Why a destination refused a sync or a batch, in words the user can act on. Never holds a
/// secret: URLs are shown without passwords.
public struct DestinationError: Failure {
  public var message: String
  public var kind: FailureKind

  public init(_ message: String, kind: FailureKind = .refused) {
    self.message = message
    self.kind = kind
  }
}
