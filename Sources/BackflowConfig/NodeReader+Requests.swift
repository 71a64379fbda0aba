import Yams

extension NodeReader {
  /// A sync's `requests:` (rest destinations): one request per operation, every template
  /// compiled and every variable known, every `result:` path parsed.
  func requestTemplates(_ node: Node) -> RequestTemplates? {
    let allowed = RequestTemplates.operations + RequestTemplates.readingRequests
    guard let fields = fields(node, path: "requests", allowed: allowed) else { return nil }
    var requests: [(operation: Located<String>, request: RequestTemplate)] = []
    var ok = true
    for entry in fields.entries {
      guard let request = requestTemplate(entry.value, path: "requests.\(entry.key)", operation: entry.key) else {
        ok = false
        continue
      }
      let operation = Located(entry.key, at: entry.keyLocation)
      // A removed row has left the model: its record has a key, and no row to read.
      if RequestTemplates.removals.contains(entry.key),
        let read = RequestTemplates(requests: [(operation, request)], location: location(of: node)).rowReads.named.first
      {
        error(
          "requests.\(entry.key) reads record.row.\(read.name), but \(entry.key) is sent for rows that left the model "
            + "(or for none): its records have a key and no row; read record.key", at: read.location)
        ok = false
        continue
      }
      requests.append((operation, request))
    }
    guard ok else { return nil }
    if requests.isEmpty {
      error("requests is empty; declare the request of each operation the sync sends, e.g. upsert", at: node)
      return nil
    }
    return RequestTemplates(requests: requests, location: location(of: node))
  }

  private func requestTemplate(_ node: Node, path: String, operation: String) -> RequestTemplate? {
    guard let fields = fields(node, path: path, allowed: ConfigKeys.request, required: ["method", "path"]) else {
      return nil
    }
    let variables = operation == "list" ? RequestTemplates.listVariables : RequestTemplates.variables
    let reads = RequestTemplates.readingRequests.contains(operation)
    var ok = true
    // Templates that read `record` where it is bound only for a request of one record.
    var readingRecord: [(path: String, at: SourceLocation)] = []
    func template(_ key: String, _ node: Node?) -> Located<String>? {
      guard let node else { return nil }
      guard let text = string(node, path: "\(path).\(key)"),
        let compiled = compiledRequestTemplate(text, at: node, path: "\(path).\(key)", variables: variables)
      else {
        ok = false
        return nil
      }
      if compiled.columns.contains("record") { readingRecord.append(("\(path).\(key)", text.location)) }
      return text
    }
    func named(_ key: String) -> [(name: Located<String>, value: Located<String>)] {
      guard let node = fields[key] else { return [] }
      return namedEntries(node, path: "\(path).\(key)").compactMap { name, value in
        template("\(key).\(name.value)", value).map { (name, $0) }
      }
    }
    let method = fields["method"].flatMap { string($0, path: "\(path).method", fromEnvironment: false) }
    if let method, !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method.value.uppercased()) {
      error("\(path).method must be one of GET, POST, PUT, PATCH, DELETE, got \"\(method.value)\"", at: method.location)
      ok = false
    }
    let requestPath = template("path", fields["path"])
    let query = named("query")
    let headers = named("headers")
    let batch = fields["batch"].flatMap { integer($0, path: "\(path).batch", minimum: 1) }
    if fields.has("batch"), batch == nil { ok = false }

    var body: RequestBody?
    switch (fields["body"], fields["body_text"]) {
    case (_?, _?):
      error("\(path) has both body and body_text; keep one", at: fields.keyLocation("body_text") ?? fields.location)
      ok = false
    case let (tree?, nil):
      if let parsed = bodyTemplate(tree, path: "\(path).body", variables: variables, readingRecord: &readingRecord) {
        body = .json(parsed)
      } else {
        ok = false
      }
      if fields.has("content_type") {
        warning("\(path).content_type is for body_text; a body is sent as application/json", at: fields.keyLocation("content_type") ?? fields.location)
      }
    case let (nil, text?):
      let contentType = fields["content_type"].flatMap { string($0, path: "\(path).content_type", fromEnvironment: false) }
      if contentType == nil {
        error("\(path).body_text needs content_type, e.g. application/x-www-form-urlencoded", at: fields.keyLocation("body_text") ?? fields.location)
      }
      if let text = template("body_text", text), let contentType { body = .text(text, contentType: contentType) } else { ok = false }
    case (nil, nil):
      break
    }
    var result: ResultPaths?
    var records: RecordPaths?
    var offset: ListOffset?
    if reads {
      records = fields["result"].flatMap { recordPaths($0, path: "\(path).result", operation: operation) }
      if records == nil {
        if !fields.has("result") {
          error("\(path) needs result: { records: PATH, key: PATH }, where its answer holds the records", at: fields.location)
        }
        ok = false
      }
      if fields.has("offset") {
        if operation == "list" {
          offset = listOffset(fields["offset"], path: "\(path).offset")
          if offset == nil { ok = false }
        } else {
          error("\(path).offset pages a list request; read takes a batch of keys", at: fields.keyLocation("offset") ?? fields.location)
          ok = false
        }
      }
      if operation == "list", let records, [records.next != nil, records.nextURL != nil, offset != nil].filter({ $0 }).count != 1 {
        error(
          "\(path) pages by exactly one of result.next (a cursor), result.next_url (a whole URL) or offset: "
            + "{ param, size_param, size }", at: fields.location)
        ok = false
      }
    } else {
      result = fields["result"].flatMap { resultPaths($0, path: "\(path).result") }
      if fields.has("result"), result == nil { ok = false }
      if fields.has("offset") {
        error("\(path).offset is for requests.list", at: fields.keyLocation("offset") ?? fields.location)
        ok = false
      }
    }
    let clearValue = fields["clear_value"].flatMap { scalarValue($0, path: "\(path).clear_value") }
    if batch?.value != 1, let first = readingRecord.first {
      // Unbound, `record` would render as nothing: every request to the same bare path.
      error(
        "\(first.path) reads record, which is bound only in a request of one record and inside $each; add "
          + "batch: 1 to \(path), or read records", at: first.at)
      ok = false
    }
    guard ok, let method, let requestPath else { return nil }
    return RequestTemplate(
      method: method.map { $0.uppercased() }, path: requestPath, query: query, headers: headers, batch: batch, body: body,
      result: result, clearValue: clearValue, records: records, offset: offset)
  }

  /// Compiles `text` as a request template, reporting what is wrong at the tag at fault.
  private func compiledRequestTemplate(_ text: Located<String>, at node: Node, path: String, variables: [String])
    -> MappingTemplate?
  {
    do {
      return try MappingTemplate(text.value, variables: variables)
    } catch let problem as MappingTemplateError {
      reportTemplate(problem, in: text, at: node, path: path)
    } catch {
      self.error("\(path): \(error)", at: node)
    }
    return nil
  }

  /// `body:`: strings are templates, `$each`/`$item` repeat per record, `$merge` joins objects.
  /// `readingRecord` collects the templates outside `$each` that read `record`.
  private func bodyTemplate(
    _ node: Node, path: String, variables: [String], inEach: Bool = false,
    readingRecord: inout [(path: String, at: SourceLocation)]
  ) -> BodyTemplate? {
    switch node {
    case let .sequence(items):
      let parsed = items.enumerated().map {
        bodyTemplate($1, path: "\(path)[\($0)]", variables: variables, inEach: inEach, readingRecord: &readingRecord)
      }
      guard parsed.allSatisfy({ $0 != nil }) else { return nil }
      return .array(parsed.compactMap { $0 })
    case let .mapping(mapping):
      let keys = mapping.keys.compactMap { $0.scalar?.string }
      if keys.contains("$each") || keys.contains("$item") {
        guard let each = mapping["$each"], let item = mapping["$item"], keys.count == 2 else {
          error("\(path): $each and $item go together and alone: { $each: records, $item: … }", at: node)
          return nil
        }
        guard each.scalar?.string == "records" else {
          error("\(path).$each must be records, the request's records", at: each)
          return nil
        }
        return bodyTemplate(item, path: "\(path).$item", variables: variables, inEach: true, readingRecord: &readingRecord)
          .map(BodyTemplate.each)
      }
      if let parts = mapping["$merge"] {
        guard keys.count == 1, let items = parts.sequence, !items.isEmpty else {
          error("\(path): $merge takes a list of objects and stands alone: { $merge: [A, B] }", at: node)
          return nil
        }
        let parsed = items.enumerated().map {
          bodyTemplate(
            $1, path: "\(path).$merge[\($0)]", variables: variables, inEach: inEach, readingRecord: &readingRecord)
        }
        guard parsed.allSatisfy({ $0 != nil }) else { return nil }
        return .merge(parsed.compactMap { $0 })
      }
      var members: [(name: String, value: BodyTemplate)] = []
      var ok = true
      for (key, value) in mapping {
        guard let name = key.scalar?.string else {
          error("keys in \(path) must be plain names", at: key)
          ok = false
          continue
        }
        if let parsed = bodyTemplate(
          value, path: "\(path).\(name)", variables: variables, inEach: inEach, readingRecord: &readingRecord)
        {
          members.append((name, parsed))
        } else {
          ok = false
        }
      }
      return ok ? .object(members) : nil
    case let .scalar(scalar):
      let isText = !(scalar.style == .plain || scalar.style == .any) || (node.int == nil && node.bool == nil && node.float == nil && !isNull(node))
      guard isText else { return scalarValue(node, path: path).map(BodyTemplate.scalar) }
      guard let text = string(node, path: path),
        let compiled = compiledRequestTemplate(text, at: node, path: path, variables: variables)
      else { return nil }
      if !inEach, compiled.columns.contains("record") { readingRecord.append((path, text.location)) }
      return .template(text)
    case .alias:
      error("\(path): aliases are not supported in a body; write the value out", at: node)
      return nil
    }
  }

  /// The path under `key` of a `result:`; `nil` when absent, and `ok` false when it does not parse.
  private func resultPath(_ key: String, in fields: Fields, path: String, ok: inout Bool) -> Located<ResultPath>? {
    guard let node = fields[key] else { return nil }
    guard let text = string(node, path: "\(path).\(key)", fromEnvironment: false) else {
      ok = false
      return nil
    }
    do {
      return Located(try ResultPath(text.value), at: text.location)
    } catch {
      self.error("\(path).\(key): \(error.message)", at: node)
      ok = false
      return nil
    }
  }

  /// `keys: exact` (the default) or `keys: case_insensitive`.
  private func caseInsensitiveKeys(in fields: Fields, path: String, ok: inout Bool) -> Bool {
    guard let keys = fields["keys"], let text = string(keys, path: "\(path).keys", fromEnvironment: false) else {
      return false
    }
    if text.value != "exact", text.value != "case_insensitive" {
      error("\(path).keys must be exact or case_insensitive, got \"\(text.value)\"", at: keys)
      ok = false
    }
    return text.value == "case_insensitive"
  }

  private func resultPaths(_ node: Node, path: String) -> ResultPaths? {
    guard let fields = fields(node, path: path, allowed: ConfigKeys.result) else { return nil }
    var ok = true
    func resultPath(_ key: String) -> Located<ResultPath>? { self.resultPath(key, in: fields, path: path, ok: &ok) }
    var result = ResultPaths(
      errors: resultPath("errors"), errorKey: resultPath("error_key"), errorIndex: resultPath("error_index"),
      errorMessage: resultPath("error_message"), each: resultPath("each"), ok: resultPath("ok"),
      caseInsensitiveKeys: caseInsensitiveKeys(in: fields, path: path, ok: &ok))
    result.ids = resultPath("ids")
    result.idKey = resultPath("id_key")
    result.id = resultPath("id")
    if result.ids != nil, result.idKey == nil || result.id == nil {
      error("\(path).ids needs id_key (the record's key in one of them) and id (the API's own id)", at: fields.location)
      ok = false
    }
    if result.id != nil, result.ids == nil, result.each == nil {
      error(
        "\(path).id is read in one of ids (with id_key) or in one result of each; add ids: PATH and id_key: PATH",
        at: fields.keyLocation("id") ?? fields.location)
      ok = false
    }
    if result.idKey != nil, result.ids == nil {
      error("\(path).id_key is read in one of ids; add ids: PATH", at: fields.keyLocation("id_key") ?? fields.location)
      ok = false
    }
    switch (result.errors, result.each) {
    case (_?, _?):
      error("\(path) has both errors and each; errors lists failures, each gives one result per record: keep one", at: fields.location)
      ok = false
    case (_?, nil):
      if result.errorKey == nil, result.errorIndex == nil {
        error("\(path).errors needs error_key (the record's key in one error) or error_index (its position)", at: fields.location)
        ok = false
      }
    case (nil, _?):
      if result.ok == nil {
        error("\(path).each needs ok, the path that is true in the result of a record that succeeded", at: fields.location)
        ok = false
      }
    case (nil, nil) where result.ids != nil:
      break
    case (nil, nil) where !fields.has("errors") && !fields.has("each") && !fields.has("ids"):
      error(
        "\(path) needs errors (a list of failures), each (one result per record in request order) or ids (the "
          + "objects the API made)", at: fields.location)
      ok = false
    case (nil, nil):
      ok = false
    }
    return ok ? result : nil
  }
}

extension NodeReader {
  /// The `result:` of a `read` or `list` request.
  fileprivate func recordPaths(_ node: Node, path: String, operation: String) -> RecordPaths? {
    guard let fields = fields(node, path: path, allowed: ConfigKeys.recordsResult, required: ["records", "key"]) else {
      return nil
    }
    var ok = true
    func resultPath(_ key: String) -> Located<ResultPath>? { self.resultPath(key, in: fields, path: path, ok: &ok) }
    let paths = (
      records: resultPath("records"), key: resultPath("key"), fields: resultPath("fields"), id: resultPath("id"),
      next: resultPath("next"), nextURL: resultPath("next_url")
    )
    let caseInsensitive = caseInsensitiveKeys(in: fields, path: path, ok: &ok)
    if operation != "list", let given = ["next", "next_url"].first(where: fields.has) {
      error("\(path).\(given) pages a list request; read takes a batch of keys", at: fields.keyLocation(given) ?? fields.location)
      ok = false
    }
    guard ok, let records = paths.records, let key = paths.key else { return nil }
    return RecordPaths(
      records: records, key: key, fields: paths.fields, id: paths.id, next: paths.next, nextURL: paths.nextURL,
      caseInsensitiveKeys: caseInsensitive)
  }

  /// A `list` request's `offset: { param, size_param, size }`.
  fileprivate func listOffset(_ node: Node?, path: String) -> ListOffset? {
    guard let node, let fields = fields(node, path: path, allowed: ConfigKeys.offset, required: ["param", "size"]) else {
      return nil
    }
    let param = fields["param"].flatMap { string($0, path: "\(path).param", fromEnvironment: false) }
    let sizeParam = fields["size_param"].flatMap { string($0, path: "\(path).size_param", fromEnvironment: false) }
    let size = fields["size"].flatMap { integer($0, path: "\(path).size", minimum: 1) }
    guard let param, let size, sizeParam != nil || !fields.has("size_param") else { return nil }
    return ListOffset(param: param, sizeParam: sizeParam, size: size)
  }
}
