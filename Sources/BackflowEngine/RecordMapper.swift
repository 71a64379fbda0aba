import BackflowConfig
import BackflowDestinations
import BackflowPlanner
import BackflowSources

/// Turns a planned row's model values into the record its destination receives: the match value
/// as the key, then one value per mapping, typed.
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
  /// The model columns planned rows' values follow (`PlanFileRows.columns`), and where each
  /// origin's and the match column's value is among them: looked up once, not per row.
  private(set) var columns: [String] = []
  private var indexes: [Int?] = []
  private var matchIndex: Int?

  init(sync: Sync) throws {
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
    indexes = origins.map { _ in nil }
  }

  /// Reads values in the order of `columns` from now on; cheap when they are the same array.
  mutating func bind(_ columns: [String]) {
    guard columns != self.columns else { return }
    self.columns = columns
    indexes = origins.map { origin in if case let .column(name) = origin { columns.firstIndex(of: name) } else { nil } }
    matchIndex = matchColumn.flatMap { columns.firstIndex(of: $0) }
  }

  /// The record for an added or changed row; `key` is the model's primary key, the record's key
  /// when the sync has no `match`.
  func record(key: String, values row: [FieldValue]) throws -> DestinationRecord {
    func value(at index: Int?) -> JSONValue { index.flatMap { $0 < row.count ? row[$0].json : nil } ?? .null }
    let context =
      needsRow
      ? Dictionary(zip(columns, row.map(\.json)).map { ($0, $1) }, uniquingKeysWith: { first, _ in first }) : [:]
    var values: [JSONValue] = []
    values.reserveCapacity(origins.count)
    for (origin, index) in zip(origins, indexes) {
      switch origin {
      case .column: values.append(value(at: index))
      case let .value(constant): values.append(constant)
      case let .template(template): values.append(.string(try template.render(context)))
      }
    }
    return DestinationRecord(key: matchColumn == nil ? .string(key) : value(at: matchIndex), values: values)
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
