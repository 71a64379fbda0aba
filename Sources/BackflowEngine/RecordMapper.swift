import BackflowConfig
import BackflowDestinations

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
  }

  /// The record for an added or changed row; `key` is the model's primary key, the record's key
  /// when the sync has no `match`.
  func record(key: String, values row: JSONValue) throws -> DestinationRecord {
    let members: [(String, JSONValue)] = if case let .object(members) = row { members } else { [] }
    func column(_ name: String) -> JSONValue { members.first { $0.0 == name }?.1 ?? .null }
    let context = needsRow ? Dictionary(members, uniquingKeysWith: { first, _ in first }) : [:]
    let values = try origins.map { origin -> JSONValue in
      switch origin {
      case let .column(name): column(name)
      case let .value(value): value
      case let .template(template): .string(try template.render(context))
      }
    }
    return DestinationRecord(key: matchColumn.map(column) ?? .string(key), values: values)
  }

  /// The match value a planned row would be recorded with in the snapshot, as compact JSON.
  func matchValue(of row: JSONValue) -> String? {
    matchColumn.map { (row[$0] ?? .null).rendered(compact: true) }
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
