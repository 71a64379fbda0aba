import BackflowConfig

/// The columns a table destination writes, named as the table spells them, and how a record's
/// values line up with them; shared by every table destination.
public struct TableColumns: Sendable, Equatable {
  /// The match column; `nil` for syncs that only insert.
  public let matchField: String?
  /// One column per mapped field, in `DestinationTarget.fields` order (a column may repeat).
  public let fields: [String]
  /// The indexes of `settable`'s fields in `fields`: the record values an operation that carries
  /// values writes, worked out once rather than per record.
  private let settableIndexes: [Int]

  public init(matchField: String?, fields: [String]) {
    self.matchField = matchField
    self.fields = fields
    var seen: Set<String> = matchField.map { [$0] } ?? []
    settableIndexes = fields.indices.filter { seen.insert(fields[$0]).inserted }
  }

  /// The columns a record's values fill: the match column, then the other fields, each once.
  public var written: [String] { TableSQL.columns(matchField: matchField, fields: fields) }

  /// The fields an upsert or update sets and `clear_fields` empties: all but the match column.
  public var settable: [String] {
    var seen: Set<String> = matchField.map { [$0] } ?? []
    return fields.filter { seen.insert($0).inserted }
  }

  /// `ON CONFLICT (match) DO UPDATE SET field = excluded.field, …` (or `DO NOTHING` when only the
  /// match column is written): how PostgreSQL and SQLite upsert, names quoted by `quote`.
  public func onConflict(quote: (String) -> String) -> String {
    let settable = settable.map(quote)
    let action =
      settable.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + settable.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
    return "ON CONFLICT (\(matchField.map(quote) ?? "")) \(action)"
  }

  /// The columns `operation` fills from each record: `written`, or only the match column for
  /// operations that carry no values.
  public func columns(for operation: DestinationOperation) -> [String] {
    Self.carriesValues(operation) ? written : [matchField].compactMap { $0 }
  }

  /// One record's values in `columns(for:)` order. An insert writes the match column's mapped
  /// value when there is one; every other operation finds the record by its key.
  public func values(of record: DestinationRecord, for operation: DestinationOperation) -> [JSONValue] {
    var values: [JSONValue] = []
    forEachValue(of: record, for: operation) { values.append($0) }
    return values
  }

  /// `values(of:for:)` one at a time, without an array.
  public func forEachValue(of record: DestinationRecord, for operation: DestinationOperation, _ body: (JSONValue) -> Void) {
    if let matchField {
      let isInsert = operation == .insert || operation == .track
      if isInsert, let index = fields.firstIndex(of: matchField), index < record.values.count {
        body(record.values[index])
      } else {
        body(record.key)
      }
    }
    guard Self.carriesValues(operation) else { return }
    for index in settableIndexes where index < record.values.count {
      body(record.values[index])
    }
  }

  /// Why `record` cannot be sent for `operation` before the database sees it, if it cannot: a
  /// null match value (it would match nothing, and an upsert would insert it again on every run)
  /// or values that do not line up with the fields.
  public func refusal(of record: DestinationRecord, for operation: DestinationOperation) -> String? {
    if Self.matches(operation), record.key == .null {
      return "the match field \(matchField ?? "") is null"
    }
    if Self.carriesValues(operation), record.values.count != fields.count {
      return "the record has \(record.values.count) values for \(fields.count) fields"
    }
    return nil
  }

  /// A batch before any SQL: the records refused here (see `refusal`) already failed, the
  /// indexes of the others are pending, and a `clear_fields` of a sync that maps nothing but the
  /// match field has nothing to send.
  public func screen(_ batch: DestinationBatch) -> (outcomes: [RecordOutcome?], pending: [Int], nothingToSend: Bool) {
    var outcomes = [RecordOutcome?](repeating: nil, count: batch.records.count)
    var pending: [Int] = []
    for (index, record) in batch.records.enumerated() {
      if let refusal = refusal(of: record, for: batch.operation) {
        outcomes[index] = .failed(refusal)
      } else {
        pending.append(index)
      }
    }
    let nothingToSend = pending.isEmpty || (batch.operation == .clearFields && settable.isEmpty)
    return (outcomes, pending, nothingToSend)
  }

  /// Whether `operation` carries the mapped fields, or only each record's key.
  public static func carriesValues(_ operation: DestinationOperation) -> Bool {
    switch operation {
    case .upsert, .add, .update, .insert, .track: true
    case .delete, .remove, .clearFields, .clear: false
    }
  }

  /// Whether `operation` finds existing records by their match value.
  public static func matches(_ operation: DestinationOperation) -> Bool {
    switch operation {
    case .upsert, .add, .update, .delete, .remove, .clearFields: true
    case .insert, .track, .clear: false
    }
  }
}
