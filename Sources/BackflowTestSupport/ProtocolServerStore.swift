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

  /// `POST /{object}/read`: the stored records among `keys`, in the order asked; a key with no
  /// record is left out.
  func read(_ body: JSONValue?, in object: String) -> (status: Int, body: JSONValue) {
    guard case let .array(keys)? = body?["keys"] else { return Self.badRequest("keys is not an array") }
    let records = objects[object] ?? []
    let found: [JSONValue] = keys.compactMap { key in
      let text = Self.keyText(key)
      return records.first { Self.keyText($0.key) == text }.map { .object([("key", $0.key), ("fields", $0.fields)]) }
    }
    return (200, .object([("records", .array(found))]))
  }

  /// `POST /{object}/keys`: the keys in creation order, `limit` at a time but never more than
  /// `pageLimit`; the cursor is the offset of the next page, as text, which a client must treat
  /// as opaque.
  func keys(_ body: JSONValue?, in object: String, pageLimit: Int) -> (status: Int, body: JSONValue) {
    let offset: Int
    switch body?["cursor"] {
    case nil, .null?: offset = 0
    case let .string(text)?:
      guard let number = Int(text), number >= 0 else { return Self.badRequest("unknown cursor") }
      offset = number
    default: return Self.badRequest("unknown cursor")
    }
    let asked: Int = if case let .int(number)? = body?["limit"], number > 0 { number } else { pageLimit }
    let records = objects[object] ?? []
    let end = min(offset + min(asked, pageLimit), records.count)
    let page = offset < end ? records[offset..<end].map(\.key) : []
    let next: JSONValue = end < records.count ? .string(String(end)) : .null
    return (200, .object([("keys", .array(page)), ("next", next)]))
  }

  // MARK: Behind Backflow's back

  /// Sets fields of the record with this key; `false` when there is none.
  mutating func alter(_ key: String, in object: String, fields: [(String, JSONValue)]) -> Bool {
    guard let index = objects[object]?.firstIndex(where: { Self.keyText($0.key) == key }) else { return false }
    objects[object]?[index].merge(fields)
    return true
  }

  /// Deletes the record with this key; `false` when there is none.
  mutating func delete(_ key: String, in object: String) -> Bool {
    let before = objects[object]?.count ?? 0
    objects[object]?.removeAll { Self.keyText($0.key) == key }
    positions[object] = Self.positions(of: objects[object] ?? [])
    return (objects[object]?.count ?? 0) < before
  }

  /// Adds a record, as another client of the API would.
  mutating func add(_ record: ProtocolServer.Record, to object: String) {
    let text = Self.keyText(record.key)
    if positions[object]?[text] == nil { positions[object, default: [:]][text] = objects[object]?.count ?? 0 }
    objects[object, default: []].append(record)
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
