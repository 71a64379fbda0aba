import Foundation
import Yams

extension NodeReader {
  /// A model from `syncs/models/NAME.yaml`, or inline under a sync's `model:` (then `path` is "model").
  func model(_ node: Node?, name: Located<String>, path: String) -> Model? {
    guard let node, !isNull(node) else {
      error("the model file is empty; it needs source, primary_key and query or table, or dbt", at: fileStart)
      return nil
    }
    // A dbt model's source and primary key come from backflow.yaml's dbt: and the manifest.
    let isDBT = node.mapping?["dbt"] != nil
    guard
      let fields = fields(
        node, path: path, subject: path.isEmpty ? "model" : path, allowed: ConfigKeys.model,
        required: isDBT ? [] : ["source", "primary_key"])
    else { return nil }
    let source = fields["source"].flatMap { nonEmptyString($0, path: fields.path("source"), fromEnvironment: false) }
    let primaryKey = fields["primary_key"].flatMap { nonEmptyString($0, path: fields.path("primary_key")) }
    let subject = path.isEmpty ? "a model" : path
    let given = ["query", "table", "dbt"].filter(fields.has)
    guard given.count == 1 else {
      if given.isEmpty {
        error("\(subject) needs query (SQL), table (a table name) or dbt (a dbt model's name)", at: fields.location)
      } else {
        error("\(subject) has both \(given[0]) and \(given[1]); keep one", at: fields.keyLocation(given[1]) ?? fields.location)
      }
      return nil
    }
    var json: [Located<String>] = []
    if let node = fields["json"] {
      guard let columns = jsonColumns(node, path: fields.path("json")) else { return nil }
      json = columns
    }
    if let node = fields["dbt"] {
      guard fields["source"] == nil || source != nil, fields["primary_key"] == nil || primaryKey != nil,
        let dbt = dbtModel(node, fields: fields, source: source, primaryKey: primaryKey)
      else { return nil }
      var model = Model(name: name, source: dbt.source, primaryKey: dbt.primaryKey, relation: dbt.relation)
      model.json = json
      return model
    }
    var relation: Model.Relation?
    if let query = fields["query"] {
      relation = nonEmptyString(query, path: fields.path("query")).map(Model.Relation.query)
    } else if let table = fields["table"] {
      relation = nonEmptyString(table, path: fields.path("table")).flatMap { name in
        guard TableName.parts(name.value) != nil else {
          invalid(
            name, at: table, fields.path("table"),
            "must be a table name, table or schema.table, with double quotes around a part that holds dots or quotes")
          return nil
        }
        return .table(name)
      }
    }
    guard let source, let primaryKey, let relation else { return nil }
    var model = Model(name: name, source: source, primaryKey: primaryKey, relation: relation)
    model.json = json
    return model
  }

  /// A model's `json:`: column names, each once. Whether the model returns them is known only
  /// to `plan`, which reads its columns.
  private func jsonColumns(_ node: Node, path: String) -> [Located<String>]? {
    guard let items = list(node, path: path) else { return nil }
    var columns: [Located<String>] = []
    var ok = true
    for (index, item) in items.enumerated() {
      guard let column = nonEmptyString(item, path: "\(path)[\(index)]", fromEnvironment: false) else {
        ok = false
        continue
      }
      if columns.contains(where: { $0.value == column.value }) {
        error("\(path) names \(column.value) twice", at: item)
        ok = false
      }
      columns.append(column)
    }
    return ok ? columns : nil
  }

  /// The name a sync file gives itself: `name:` or the file stem.
  func syncName(_ root: Node?, stem: String) -> Located<String> {
    if let nameNode = root?.mapping?["name"], let name = string(nameNode, path: "name", fromEnvironment: false) {
      return name
    }
    return Located(stem, at: fileStart)
  }

  /// The sync, if it decodes, and what it names in other files either way.
  func sync(_ root: Node?, name: Located<String>) -> (Sync?, SyncReferences) {
    var references = SyncReferences(name: name)
    guard let root, !isNull(root) else {
      error("the sync file is empty; it needs model, destination and object", at: fileStart)
      return (nil, references)
    }
    guard let fields = fields(root, path: "", subject: "sync", allowed: ConfigKeys.sync, required: ["model", "destination", "object"])
    else { return (nil, references) }
    let at = fields.location

    var modelName: Located<String>?
    var inlineModel: Model?
    let isInline = fields["model"]?.mapping != nil
    if let node = fields["model"] {
      if isInline {
        inlineModel = model(node, name: name, path: "model")
        modelName = Located(name.value, at: location(of: node))
      } else {
        modelName = nonEmptyString(node, path: "model", fromEnvironment: false)
      }
    }
    let destination = fields["destination"].flatMap { nonEmptyString($0, path: "destination", fromEnvironment: false) }
    let object = fields["object"].flatMap { nonEmptyString($0, path: "object") }
    let type = fields["type"].map { choice($0, path: "type", as: Sync.Kind.self) } ?? Located(.object, at: at)
    let mode = syncMode(fields, type: type)
    let match = syncMatch(fields, type: type?.value, mode: mode?.value)
    let mappings = syncMappings(fields)
    let batch = syncBatch(fields["batch"], at: at)
    let onDelete = syncOnDelete(fields, type: type?.value, mode: mode?.value)
    let maxRemove = fields["max_remove"].map { self.maxRemove($0) } ?? Located(Sync.defaultMaxRemove, at: at)
    let schedule = fields["schedule"].map { self.schedule($0) } ?? Located(.manual, at: at)
    let enabled = fields["enabled"].map { boolean($0, path: "enabled") } ?? Located(true, at: at)
    let alerts = fields["alerts"].map { alertRules($0) } ?? []
    let requests = fields["requests"].flatMap { requestTemplates($0) }

    references.destination = destination
    references.model = isInline ? nil : modelName
    references.inlineModelSource = inlineModel?.source
    if case let .after(leaders, _) = schedule?.value { references.after = leaders }
    references.notify = alerts.flatMap(\.notify)

    // The match field is written from the match column; a mapping to it would write it twice.
    if let match, let mappings, let index = mappings.firstIndex(where: { $0.to.value == match.field.value }) {
      error(
        "mappings[\(index)].to \"\(match.field.value)\" is the match field, which match already writes from column "
          + "\(match.column.value); remove this mapping", at: mappings[index].to.location)
      return (nil, references)
    }
    guard let modelName, let destination, let object, let type, let mode, let mappings, let batch,
      let onDelete, let maxRemove, let schedule, let enabled, requests != nil || !fields.has("requests"),
      match != nil || !mode.value.matchesRecords, !isInline || inlineModel != nil
    else { return (nil, references) }
    var sync = Sync(
      name: name, file: file, model: modelName, inlineModel: inlineModel, destination: destination,
      type: type, object: object, mode: mode, match: match, mappings: mappings, batch: batch,
      onDelete: onDelete, maxRemove: maxRemove, schedule: schedule, enabled: enabled)
    sync.alerts = alerts
    sync.requests = requests
    return (sync, references)
  }

  private func syncMode(_ fields: Fields, type: Located<Sync.Kind>?) -> Located<Sync.Mode>? {
    guard let type else { return nil }
    guard let node = fields["mode"] else { return Located(type.value.modes[0], at: fields.location) }
    guard let mode = choice(node, path: "mode", as: Sync.Mode.self) else { return nil }
    guard type.value.modes.contains(mode.value) else {
      let fitting = type.value.modes.map(\.rawValue).joined(separator: ", ")
      error("mode \"\(mode.value.rawValue)\" does not fit a sync of type \(type.value.rawValue); \(type.value.rawValue) syncs use \(fitting)", at: node)
      return nil
    }
    return mode
  }

  private func syncMatch(_ fields: Fields, type: Sync.Kind?, mode: Sync.Mode?) -> Sync.Match? {
    guard let node = fields["match"] else {
      if let mode, mode.matchesRecords {
        error("mode \(mode.rawValue) finds existing records and needs match, e.g. match: { email: email } (model column: destination field)", at: fields.keyLocation("mode") ?? fields.location)
      }
      return nil
    }
    if type == .event {
      warning("match is not used by event syncs, which only insert", at: location(of: node))
    }
    let entries = namedEntries(node, path: "match")
    guard entries.count == 1, let (column, fieldNode) = entries.first else {
      if node.mapping != nil {
        error("match must have exactly one entry, model column: destination field; got \(entries.count)", at: node)
      }
      return nil
    }
    guard let field = nonEmptyString(fieldNode, path: "match.\(column.value)") else { return nil }
    return Sync.Match(column: column, field: field)
  }

  private func syncMappings(_ fields: Fields) -> [Mapping]? {
    guard let node = fields["mappings"] else { return [] }
    if isNull(node) { return [] }
    guard let items = list(node, path: "mappings") else { return nil }
    var mappings: [Mapping] = []
    var targets: [String: SourceLocation] = [:]
    var ok = true
    for (index, item) in items.enumerated() {
      let path = "mappings[\(index)]"
      guard let entry = self.fields(item, path: path, allowed: ConfigKeys.mapping, required: ["to"]) else {
        ok = false
        continue
      }
      let origins = ["from", "value", "template"].filter(entry.has)
      var origin: Mapping.Origin?
      switch origins.count {
      case 0:
        error("\(path) needs one of from (a column), value (a constant) or template", at: entry.location)
      case 1:
        origin = mappingOrigin(origins[0], entry, path: path)
      default:
        error("\(path) has \(origins.joined(separator: " and ")); use exactly one of from, value or template", at: entry.keyLocation(origins[1]) ?? entry.location)
      }
      let to = entry["to"].flatMap { nonEmptyString($0, path: "\(path).to") }
      if let to {
        if let first = targets[to.value] {
          error("\(path).to \"\(to.value)\" is already mapped at line \(first.line); each destination field takes one mapping", at: to.location)
          ok = false
        } else {
          targets[to.value] = to.location
        }
      }
      guard let origin, let to else {
        ok = false
        continue
      }
      mappings.append(Mapping(origin: origin, to: to))
    }
    return ok ? mappings : nil
  }

  private func mappingOrigin(_ key: String, _ entry: Fields, path: String) -> Mapping.Origin? {
    guard let node = entry[key] else { return nil }
    switch key {
    case "from":
      return nonEmptyString(node, path: "\(path).from").map(Mapping.Origin.column)
    case "value":
      return scalarValue(node, path: "\(path).value").map(Mapping.Origin.value)
    default:
      guard let template = string(node, path: "\(path).template") else { return nil }
      do {
        _ = try MappingTemplate(template.value)
      } catch let problem as MappingTemplateError {
        reportTemplate(problem, in: template, at: node, path: "\(path).template")
        return nil
      } catch {
        self.error("\(path).template: \(error)", at: node)
        return nil
      }
      return .template(template)
    }
  }

  /// Reports a template that does not parse at the tag at fault when the template is one line
  /// written as it is read (no escapes), else at the template's start.
  func reportTemplate(_ problem: MappingTemplateError, in template: Located<String>, at node: Node, path: String) {
    guard !template.isSecret else {
      error("\(path) read from the environment does not parse as a template", at: node)
      return
    }
    var at = location(of: node)
    var message = "\(path): \(problem.message)"
    if let line = problem.line, let column = problem.column, let scalar = node.scalar {
      let text = template.value
      let hasNoEscapes =
        switch scalar.style {
        case .plain, .any: true
        case .singleQuoted: !text.contains("'")
        case .doubleQuoted: !text.contains { $0 == "\"" || $0 == "\\" || $0.unicodeScalars.contains { $0.value < 0x20 } }
        default: false
        }
      if hasNoEscapes, scalar.string == text, !text.contains("\n") {
        let quote = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
        at.column += quote + column - 1
      } else if text.contains("\n") {
        message += " (line \(line), column \(column) of the template)"
      }
    }
    error(message, at: at)
  }

  /// A constant with the type YAML gave it: `value: 3` is a number, `value: "3"` a string.
  func scalarValue(_ node: Node, path: String) -> Located<ScalarValue>? {
    guard let scalar = node.scalar else {
      error("\(path) must be a single value (string, number, true/false or null), got \(kind(of: node))", at: node)
      return nil
    }
    let at = location(of: node)
    if isNull(node) { return Located(.null, at: at) }
    if scalar.style == .plain || scalar.style == .any {
      if let number = node.int { return Located(.integer(number), at: at) }
      if let flag = node.bool { return Located(.boolean(flag), at: at) }
      if let number = node.float, number.isFinite { return Located(.number(number), at: at) }
    }
    return string(node, path: path).map { $0.map(ScalarValue.string) }
  }

  private func syncBatch(_ node: Node?, at: SourceLocation) -> Batch? {
    var batch = Batch(
      size: Located(Batch.defaultSize, at: at), concurrency: Located(Batch.defaultConcurrency, at: at), rate: nil)
    guard let node else { return batch }
    guard let fields = fields(node, path: "batch", allowed: ConfigKeys.batch) else { return nil }
    var ok = true
    if let size = fields["size"] {
      if let value = integer(size, path: "batch.size", minimum: 1) { batch.size = value } else { ok = false }
    }
    if let concurrency = fields["concurrency"] {
      if let value = integer(concurrency, path: "batch.concurrency", minimum: 1) { batch.concurrency = value } else { ok = false }
    }
    if let rateNode = fields["rate"], let text = string(rateNode, path: "batch.rate") {
      if let rate = Rate(text.value) {
        batch.rate = text.map { _ in rate }
      } else {
        invalid(text, at: rateNode, "batch.rate", "must be requests per unit, like 20/s, 100/m or 1000/h")
        ok = false
      }
    } else if fields.has("rate") {
      ok = false
    }
    return ok ? batch : nil
  }

  private func syncOnDelete(_ fields: Fields, type: Sync.Kind?, mode: Sync.Mode?) -> Located<Sync.DeleteBehavior>? {
    guard let node = fields["on_delete"] else {
      return Located(mode == .mirror ? .delete : .nothing, at: fields.location)
    }
    guard let behavior = choice(node, path: "on_delete", as: Sync.DeleteBehavior.self) else { return nil }
    if mode == .mirror, behavior.value != .delete {
      error("mode mirror always deletes records that leave the model; remove on_delete or use mode upsert", at: node)
      return nil
    }
    if behavior.value != .nothing, type == .event || (type == .object && mode == .insert) {
      // Nothing identifies the record a removed row created: insert-only syncs have no match.
      let reason = type == .event ? "event syncs only add events, without a match key" : "mode insert only creates records, without a match key"
      let instead = type == .event ? "remove on_delete" : "use mode upsert with match, or remove on_delete"
      error("on_delete: \(behavior.value.rawValue) must find the record of a removed row, but \(reason); \(instead)", at: node)
      return nil
    }
    if let type, type != .object {
      warning("on_delete does not apply to \(type.rawValue) syncs and is ignored", at: location(of: node))
    }
    return behavior
  }

  private func maxRemove(_ node: Node) -> Located<MaxRemove>? {
    guard let text = string(node, path: "max_remove") else { return nil }
    let quoted = node.scalar.map { $0.style == .singleQuoted || $0.style == .doubleQuoted } ?? false
    if text.value.hasSuffix("%"), let share = Double(text.value.dropLast()), (0...100).contains(share) {
      return text.map { _ in .percent(share) }
    }
    if !quoted, let rows = Int(text.value), rows >= 0 {
      return text.map { _ in .rows(rows) }
    }
    invalid(text, at: node, "max_remove", "must be a share of the previous rows like \"50%\" (0-100%) or a row count like 1000")
    return nil
  }
}
