import BackflowConfig

/// What a team's server in front of its API does with protocol requests, without the socket:
/// records per object, keyed by key. `ProtocolServer` feeds it the bodies it receives.
struct ProtocolServerStore {
  /// Known operations; anything else is a 400.
  static let operations: Set<String> = [
    "upsert", "update", "insert", "delete", "clear_fields", "add", "remove", "track", "clear",
  ]

  private(set) var objects: [String: [ProtocolServer.Record]] = [:]
  /// Per object, each key's text and the position of its first record, so an upsert finds its
  /// record without scanning the object (the benchmark sends a million records).
  private var positions: [String: [String: Int]] = [:]

  /// Applies one request body to `object` and returns the answer: 200 with the failed records in
  /// `results`, or 400 with an `error` for a body that does not follow the protocol. Records whose
  /// key is in `rejected` fail with its reason and are not stored.
  mutating func apply(_ body: JSONValue?, to object: String, rejected: [String: String])
    -> (status: Int, body: JSONValue)
  {
    guard let body, case .object = body else { return Self.badRequest("the body is not a JSON object") }
    guard case let .string(operation)? = body["operation"], Self.operations.contains(operation) else {
      return Self.badRequest("operation is missing or unknown")
    }
    if operation == "clear" {
      objects[object] = []
      positions[object] = [:]
      return (200, .object([("results", .array([]))]))
    }
    guard case let .array(items)? = body["records"] else { return Self.badRequest("records is not an array") }

    var records = objects[object] ?? []
    var index = positions[object] ?? [:]
    // Drops the object's records and index while they change here, so neither is copied.
    objects[object] = nil
    positions[object] = nil
    var failures: [JSONValue] = []
    func fail(_ key: JSONValue, _ reason: String) {
      failures.append(.object([("key", key), ("error", .string(reason))]))
    }
    for item in items {
      guard let key = item["key"], key != .null else {
        fail(.null, "record without a key")
        continue
      }
      let text = Self.keyText(key)
      if let reason = rejected[text] {
        fail(key, reason)
        continue
      }
      let fields: [(String, JSONValue)]
      if case let .object(members)? = item["fields"] { fields = members } else { fields = [] }
      let position = index[text]
      switch operation {
      case "upsert", "add":
        if let position {
          records[position].merge(fields)
        } else {
          index[text] = records.count
          records.append(.init(key: key, fields: .object(fields)))
        }
      case "update":
        if let position { records[position].merge(fields) } else { fail(key, "not found") }
      case "insert", "track":
        if position == nil { index[text] = records.count }
        records.append(.init(key: key, fields: .object(fields)))
      case "delete", "remove":
        guard position != nil else { break }
        records.removeAll { Self.keyText($0.key) == text }
        index = Self.positions(of: records)
      case "clear_fields":
        for position in records.indices where Self.keyText(records[position].key) == text {
          records[position].merge(fields.map { ($0.0, .null) })
        }
      default:
        break
      }
    }
    objects[object] = records
    positions[object] = index
    return (200, .object([("results", .array(failures))]))
  }

  /// Keys compare as text, so the number 42 and the string "42" are one record.
  static func keyText(_ key: JSONValue) -> String {
    switch key {
    case let .string(text): text
    case let .int(number): String(number)
    case let .number(text): text
    default: key.rendered(compact: true)
    }
  }

  /// Each key's text and the position of its first record.
  private static func positions(of records: [ProtocolServer.Record]) -> [String: Int] {
    var positions: [String: Int] = [:]
    for (position, record) in records.enumerated() where positions[keyText(record.key)] == nil {
      positions[keyText(record.key)] = position
    }
    return positions
  }

  static func badRequest(_ message: String) -> (status: Int, body: JSONValue) {
    (400, .object([("error", .string(message))]))
  }
}

extension ProtocolServer.Record {
  /// Sets the given fields, keeping the others.
  mutating func merge(_ updates: [(String, JSONValue)]) {
    guard case var .object(members) = fields else {
      fields = .object(updates)
      return
    }
    for (name, value) in updates {
      if let index = members.firstIndex(where: { $0.0 == name }) {
        members[index].1 = value
      } else {
        members.append((name, value))
      }
    }
    fields = .object(members)
  }
}
