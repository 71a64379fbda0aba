import BackflowConfig

/// The records of one file destination's file, held in memory for a run: a table keyed by the
/// match field, in the order records were first created. Pure, so every operation is tested
/// without a file.
struct FileTable {
  /// The file's columns: the match field (if any), the sync's fields (a dotted field's first step:
  /// `properties` for `properties.firstname`), then any other columns the file already had, which
  /// are kept as they are.
  private(set) var columns: [String]
  /// Records in creation order; nil where one was deleted.
  private var rows: [[JSONValue]?] = []
  /// Match value (as text) → position in `rows`.
  private var index: [String: Int] = [:]
  private let keyColumn: Int?
  /// Where each of the sync's fields is written: a column, and inside it the path of a dotted
  /// field (JSON Lines), which leaves the object's other members as they are.
  private let fields: [(column: Int, path: [String])]

  /// An empty table for `target`.
  init(target: DestinationTarget) {
    self.init(columns: Self.required(by: target), target: target)
  }

  /// A table over `columns`, which must hold the match field and every field of `target`.
  private init(columns: [String], target: DestinationTarget) {
    self.columns = columns
    keyColumn = target.matchField.flatMap { columns.firstIndex(of: $0) }
    fields = target.fields.compactMap { field in
      let steps = DestinationTarget.path(field)
      return columns.firstIndex(of: steps[0]).map { ($0, Array(steps.dropFirst())) }
    }
  }

  /// The columns a file must have for `target`: the match field, then the mapped fields' first
  /// steps, each once.
  static func required(by target: DestinationTarget) -> [String] {
    var columns = target.matchField.map { [$0] } ?? []
    for field in target.fields {
      let column = DestinationTarget.path(field)[0]
      if !columns.contains(column) { columns.append(column) }
    }
    return columns
  }

  /// A table read back from a file: `columns` as its header says and `records` in file order.
  /// Throws, naming the columns, when the header lacks a column `target` writes.
  init(columns: [String], records: [[JSONValue]], target: DestinationTarget) throws {
    let missing = Self.required(by: target).filter { !columns.contains($0) }
    guard missing.isEmpty else {
      throw DestinationError(
        "has no \(missing.count == 1 ? "column" : "columns") \(missing.joined(separator: ", ")) "
          + "(its columns are \(columns.joined(separator: ", ")))")
    }
    var seen = Set<String>()
    if let duplicate = columns.first(where: { !seen.insert($0).inserted }) {
      throw DestinationError("has the column \(duplicate) twice")
    }
    self.init(columns: columns, target: target)
    for record in records { append(record) }
  }

  /// The live records, in order.
  var records: [[JSONValue]] { rows.compactMap { $0 } }

  var count: Int { index.count }

  /// Applies one batch and returns each record's outcome.
  mutating func apply(_ batch: DestinationBatch) -> [RecordOutcome] {
    if batch.operation == .clear {
      clear()
      return batch.records.map { _ in .succeeded }
    }
    return batch.records.map { apply(batch.operation, $0) }
  }

  private mutating func apply(_ operation: DestinationOperation, _ record: DestinationRecord) -> RecordOutcome {
    let writesValues = [.upsert, .update, .insert, .add, .track].contains(operation)
    if writesValues, record.values.count != fields.count {
      return .failed("expected \(fields.count) field values, got \(record.values.count)")
    }
    if operation == .insert || operation == .track {
      append(newRow(record))
      return .succeeded
    }
    guard let key = Self.keyText(record.key) else {
      return .failed("the match value is null; a record cannot be found or created without one")
    }
    let position = index[key]
    switch operation {
    case .upsert, .add:
      if let position {
        set(record.values, at: position)
      } else {
        append(newRow(record))
      }
    case .update:
      guard let position else { return .failed("not found") }
      set(record.values, at: position)
    case .delete, .remove:
      if let position {
        rows[position] = nil
        index[key] = nil
      }
    case .clearFields:
      if let position { set(Array(repeating: .null, count: fields.count), at: position) }
    case .insert, .track, .clear:
      break
    }
    return .succeeded
  }

  /// The live record whose match value is `key`, as a row of `columns`.
  func row(matching key: JSONValue) -> [JSONValue]? {
    guard let text = Self.keyText(key), let position = index[text] else { return nil }
    return rows[position]
  }

  /// The row an insert of `record` appends.
  func newRow(_ record: DestinationRecord) -> [JSONValue] {
    var row = Array(repeating: JSONValue.null, count: columns.count)
    if let keyColumn { row[keyColumn] = record.key }
    for (field, value) in zip(fields, record.values) { row[field.column].set(value, at: field.path) }
    return row
  }

  mutating func clear() {
    rows.removeAll()
    index.removeAll()
  }

  /// Deletes every record whose match value is not in `kept` and returns how many it deleted.
  mutating func removeAll(except kept: Set<String>) -> Int {
    var removed = 0
    for (key, position) in index where !kept.contains(key) {
      rows[position] = nil
      index[key] = nil
      removed += 1
    }
    return removed
  }

  private mutating func set(_ values: [JSONValue], at position: Int) {
    guard var row = rows[position] else { return }
    for (field, value) in zip(fields, values) { row[field.column].set(value, at: field.path) }
    rows[position] = row
  }

  /// Adds a record at the end; the first record with a match value is the one found by it.
  private mutating func append(_ row: [JSONValue]) {
    if let keyColumn, let key = Self.keyText(row[keyColumn]), index[key] == nil {
      index[key] = rows.count
    }
    rows.append(row)
  }

  /// A match value as the text records are keyed by: a CSV file gives every value back as text,
  /// so the number 7 and the text "7" name the same record.
  static func keyText(_ value: JSONValue) -> String? {
    switch value {
    case .null: nil
    case let .string(text), let .number(text): text
    case let .int(number): String(number)
    case let .bool(flag): flag ? "true" : "false"
    case .double, .array, .object: value.rendered(compact: true)
    }
  }
}
