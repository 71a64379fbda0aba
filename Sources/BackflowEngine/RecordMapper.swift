import BackflowConfig
import BackflowDestinations
import BackflowPlanner
import BackflowSources

/// Turns a planned row's model values into the record its destination receives: the match value
/// as the key, then one value per mapping, typed, and the model row when request templates read
/// it (`record.row`). Columns the model declares `json:` are parsed, for destinations whose
/// records are JSON; text that is not JSON fails the row.
struct RecordMapper {
  private enum Origin {
    case column(String)
    case value(JSONValue)
    case template(MappingTemplate)
  }

  /// Destination fields in mapping order, as `DestinationTarget.fields`.
  let fields: [String]
  private let origins: [Origin]
  private let matchColumn: String?
  private let needsRow: Bool
  /// Whether records carry the model row (`record.row` in a request template).
  private let carriesRow: Bool
  private let jsonColumns: Set<String>
  /// The model columns planned rows' values follow (`PlanFileRows.columns`), and where each
  /// origin's and the match column's value is among them: looked up once, not per row.
  private(set) var columns: [String] = []
  private var indexes: [Int?] = []
  private var matchIndex: Int?
  /// Per column of `columns`: whether it is read as JSON.
  private var isJSON: [Bool] = []

  /// `jsonColumns`: the model's columns parsed as JSON (`Project.jsonColumns(of:)`).
  init(sync: Sync, jsonColumns: [String] = []) throws {
    fields = sync.mappings.map(\.to.value)
    origins = try sync.mappings.map { mapping in
      switch mapping.origin {
      case let .column(name): .column(name.value)
      case let .value(value): .value(value.value.json)
      case let .template(text): .template(try MappingTemplate(text.value))
      }
    }
    matchColumn = sync.match?.column.value
    needsRow = origins.contains { if case .template = $0 { true } else { false } }
    let rowReads = sync.requests?.rowReads
    carriesRow = rowReads.map { !$0.named.isEmpty || $0.wholeRow != nil } ?? false
    self.jsonColumns = Set(jsonColumns)
    indexes = origins.map { _ in nil }
  }

  /// Reads values in the order of `columns` from now on; cheap when they are the same array.
  mutating func bind(_ columns: [String]) {
    guard columns != self.columns else { return }
    self.columns = columns
    indexes = origins.map { origin in if case let .column(name) = origin { columns.firstIndex(of: name) } else { nil } }
    matchIndex = matchColumn.flatMap { columns.firstIndex(of: $0) }
    isJSON = columns.map(jsonColumns.contains)
  }

  /// The record for an added or changed row; `key` is the model's primary key, the record's key
  /// when the sync has no `match`.
  func record(key: String, values row: [FieldValue]) throws -> DestinationRecord {
    func value(at index: Int?) throws -> JSONValue {
      guard let index, index < row.count else { return .null }
      guard index < isJSON.count, isJSON[index], case let .string(text) = row[index] else { return row[index].json }
      do {
        return try JSONValue.parse(text)
      } catch {
        throw DestinationError(
          "column \(columns[index]) is declared json: in the model, but holds text that is not JSON (\(error)): "
            + JSONValue.quoted(String(text.prefix(60))))
      }
    }
    // The match value is the snapshot's, as the model gave it (`matchValue(of:)`).
    let match = matchIndex.flatMap { $0 < row.count ? row[$0].json : nil } ?? .null
    let members = needsRow || carriesRow ? try columns.indices.map { (columns[$0], try value(at: $0)) } : []
    let context = needsRow ? Dictionary(members, uniquingKeysWith: { first, _ in first }) : [:]
    var values: [JSONValue] = []
    values.reserveCapacity(origins.count)
    for (origin, index) in zip(origins, indexes) {
      switch origin {
      case .column: values.append(try value(at: index))
      case let .value(constant): values.append(constant)
      case let .template(template): values.append(.string(try template.render(context)))
      }
    }
    var record = DestinationRecord(key: matchColumn == nil ? .string(key) : match, values: values)
    if carriesRow { record.row = .object(members) }
    return record
  }

  /// The record a removed row is sent as: keyed by the match value the snapshot recorded (compact
  /// JSON), or by the primary key `key` without one; for `clear_fields`, every field null.
  func removal(key: String, matchValue: String?, operation: DestinationOperation) -> DestinationRecord {
    let match = matchValue.flatMap { try? JSONValue.parse($0) }
    return DestinationRecord(
      key: match.flatMap { $0 == .null ? nil : $0 } ?? .string(key),
      values: operation == .clearFields ? fields.map { _ in .null } : [])
  }

  /// The match value a planned row would be recorded with in the snapshot, as compact JSON.
  func matchValue(of row: [FieldValue]) -> String? {
    guard matchColumn != nil else { return nil }
    guard let matchIndex, matchIndex < row.count else { return "null" }
    return row[matchIndex].json.rendered(compact: true)
  }
}

extension ScalarValue {
  var json: JSONValue {
    switch self {
    case let .string(text): .string(text)
    case let .integer(number): .int(number)
    case let .number(number): .double(number)
    case let .boolean(flag): .bool(flag)
    case .null: .null
    }
  }
}
