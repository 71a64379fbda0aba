import BackflowConfig

/// Reads a rest API's answer through a request's `result:` paths: which records it names as
/// failed, and why.
enum RESTAnswer {
  /// An API's message quoted in a record's failure is cut to this many characters (DESIGN.md,
  /// "REST destinations": at most 500, as the PostgreSQL destination quotes its server).
  static let messageLimit = 500

  /// The answer does not have the shape `result:` describes; the whole request fails with this.
  struct Mismatch: Error {
    var reason: String
  }

  /// What the answer says of each record sent, in request order: `nil` when it does not name the
  /// record, else `.succeeded` or `.failed(reason)`. A path that finds nothing names nothing.
  static func outcomes(_ body: String, paths: ResultPaths, keys: [JSONValue], status: Int) throws(Mismatch)
    -> [RecordOutcome?]
  {
    let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty, paths.each == nil { return Array(repeating: nil, count: keys.count) }
    guard let json = try? JSONValue.parse(trimmed) else {
      throw Mismatch(
        reason: "HTTP \(status): the answer is not JSON, but result: reads it as JSON: "
          + HTTPAnswer.shortened(trimmed, limit: messageLimit))
    }
    var outcomes = [RecordOutcome?](repeating: nil, count: keys.count)
    if let each = paths.each {
      let results = items(each.value, in: json)
      guard results.count == keys.count else {
        throw Mismatch(
          reason: "HTTP \(status): result.each (\(each.value)) found \(results.count) "
            + "result\(results.count == 1 ? "" : "s") for \(keys.count) record\(keys.count == 1 ? "" : "s") sent")
      }
      for (index, result) in results.enumerated() {
        let ok = paths.ok.flatMap { $0.value.value(in: result) }
        outcomes[index] = ok == .bool(true) || ok == .string("true") ? .succeeded : .failed(message(in: result, paths, status))
      }
      return outcomes
    }
    guard let errors = paths.errors else { return outcomes }
    let compared = keys.map { comparable($0, paths.caseInsensitiveKeys) }
    for error in items(errors.value, in: json) {
      let reason = RecordOutcome.failed(message(in: error, paths, status))
      if let indexPath = paths.errorIndex {
        for value in indexPath.value.values(in: error) {
          guard let index = ResultPath.text(of: value).flatMap({ Int($0) }), outcomes.indices.contains(index) else { continue }
          outcomes[index] = reason
        }
      }
      if let keyPath = paths.errorKey {
        for value in keyPath.value.values(in: error) {
          let wanted = comparable(value, paths.caseInsensitiveKeys)
          for index in compared.indices where compared[index] == wanted && wanted != nil { outcomes[index] = reason }
        }
      }
    }
    return outcomes
  }

  /// The API's own id for each record sent, in request order, where the answer names one:
  /// `result.id` in the record's result of `each`, or in the one of `ids` whose `id_key` is the
  /// record's key. A body that is not JSON names none.
  static func ids(_ body: String, paths: ResultPaths, keys: [JSONValue]) -> [JSONValue?] {
    var ids = [JSONValue?](repeating: nil, count: keys.count)
    guard let idPath = paths.id?.value, let json = try? JSONValue.parse(body) else { return ids }
    func usable(_ id: JSONValue?) -> JSONValue? { id == .null ? nil : id }
    if let each = paths.each {
      for (index, result) in items(each.value, in: json).enumerated() where index < ids.count {
        ids[index] = usable(idPath.value(in: result))
      }
      return ids
    }
    guard let objects = paths.ids, let keyPath = paths.idKey else { return ids }
    var positions: [String: [Int]] = [:]
    for (index, key) in keys.enumerated() {
      if let text = comparable(key, paths.caseInsensitiveKeys) { positions[text, default: []].append(index) }
    }
    for object in items(objects.value, in: json) {
      guard let key = keyPath.value.value(in: object), let text = comparable(key, paths.caseInsensitiveKeys) else { continue }
      for index in positions[text] ?? [] { ids[index] = usable(idPath.value(in: object)) }
    }
    return ids
  }

  /// The items of the list `path` names (`errors`), or what it finds when that is not a list
  /// (`errors[*]`, `[*]`).
  static func items(_ path: ResultPath, in json: JSONValue) -> [JSONValue] {
    path.values(in: json).flatMap { found -> [JSONValue] in
      if case let .array(items) = found { return items }
      return [found]
    }
  }

  /// A key as keys compare: its text (the number 42 and the string "42" are one key).
  static func comparable(_ key: JSONValue, _ caseInsensitive: Bool) -> String? {
    let text = ResultPath.text(of: key)
    return caseInsensitive ? text?.lowercased() : text
  }

  /// The reason an error or result gives, shortened; the status when it gives none.
  private static func message(in item: JSONValue, _ paths: ResultPaths, _ status: Int) -> String {
    let found = paths.errorMessage.flatMap { $0.value.value(in: item) }
    let text =
      switch found {
      case let .string(text)?: text
      case nil, .null?: ""
      case let value?: value.rendered(compact: true)
      }
    return text.isEmpty ? "rejected by the API (HTTP \(status))" : HTTPAnswer.shortened(text, limit: messageLimit)
  }
}
