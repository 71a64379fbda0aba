import Foundation
import Yams

/// What `backflow.yaml` declares, before models and syncs are read.
struct ProjectHeader {
  var version: Located<Int>
  var state: Located<String>
  var sources: [Source] = []
  var destinations: [Destination] = []
  var syncLogs: SyncLogs?
  var dbt: DBTSettings?
  var errorCategories: [ErrorCategory] = []
  /// Every declared name, including entries too broken to decode, so references to them do not
  /// cascade into "not declared" errors.
  var sourceNames: [Located<String>] = []
  var destinationNames: [Located<String>] = []
  var notifications: [NotificationChannel] = []
  var notificationNames: [Located<String>] = []
  var alerts: [AlertRule] = []
}

extension NodeReader {
  /// What a project without a readable backflow.yaml is taken to declare: nothing.
  var defaultHeader: ProjectHeader {
    ProjectHeader(
      version: Located(Project.supportedVersion, at: fileStart),
      state: Located(Project.defaultState, at: fileStart))
  }

  func projectHeader(_ root: Node?) -> ProjectHeader {
    var header = defaultHeader
    guard let root else {
      error("backflow.yaml is empty; it needs at least \"version: \(Project.supportedVersion)\"", at: fileStart)
      return header
    }
    guard let fields = fields(root, path: "", subject: "backflow.yaml", allowed: ConfigKeys.project, required: ["version"])
    else { return header }

    if let node = fields["version"], let version = integer(node, path: "version", minimum: 1) {
      if version.value > Project.supportedVersion {
        error("version \(version.value) is newer than this Backflow reads (\(Project.supportedVersion)); upgrade Backflow", at: node)
      } else {
        header.version = version
      }
    }
    if let node = fields["state"], let state = string(node, path: "state") {
      if StateLocation(state.value) == nil {
        invalid(state, at: node, "state", StateLocation.requirement(for: state.value))
      } else {
        header.state = state
      }
    }
    header.sources = declared(fields, "sources", kind: "source", names: &header.sourceNames, source)
    header.destinations = declared(fields, "destinations", kind: "destination", names: &header.destinationNames, destination)
    if let node = fields["sync_logs"] {
      header.syncLogs = syncLogs(node)
    }
    if let node = fields["dbt"] {
      header.dbt = dbtSettings(node)
    }
    if let node = fields["error_categories"] {
      header.errorCategories = errorCategories(node)
    }
    readAlerting(fields, into: &header)
    return header
  }

  /// The entries of `key`, a mapping of names the user chooses to settings, that `decode` reads;
  /// every name goes into `names`, including entries too broken to decode, so references to them
  /// do not cascade into "not declared" errors.
  func declared<Entry>(
    _ fields: Fields, _ key: String, kind: String, names: inout [Located<String>],
    _ decode: (Located<String>, Node) -> Entry?
  ) -> [Entry] {
    guard let node = fields[key] else { return [] }
    var entries: [Entry] = []
    for (name, value) in namedEntries(node, path: key) {
      names.append(name)
      if checkName(name, kind: kind), let entry = decode(name, value) { entries.append(entry) }
    }
    return entries
  }

  /// Names become file stems, table prefixes and CLI arguments, so they stay plain.
  @discardableResult
  func checkName(_ name: Located<String>, kind: String, hint: String = "") -> Bool {
    let valid = name.value.isPlainName(hyphens: true)
    if !valid {
      error("\(kind) name \"\(name.value)\" must start with a letter or _ and hold only letters, digits, _ and -\(hint)", at: name.location)
    }
    return valid
  }

  private func source(_ name: Located<String>, _ node: Node) -> Source? {
    let path = "sources.\(name.value)"
    guard let fields = fields(node, path: path, subject: "source \"\(name.value)\"", allowed: drivers.sourceKeys, required: ["type"]),
      let type = kind(fields, among: drivers.sources.map(\.kind)), let driver = drivers.source(type.value),
      checkKeys(fields, typeName: type.value, kind: "source", allowed: driver.keys, required: driver.requiredKeys),
      let settings = driver.settings(DriverFields(reader: self, fields: fields))
    else { return nil }
    return Source(name: name, type: type, driver: driver, settings: settings)
  }

  private func destination(_ name: Located<String>, _ node: Node) -> Destination? {
    let path = "destinations.\(name.value)"
    guard let fields = fields(node, path: path, subject: "destination \"\(name.value)\"", allowed: drivers.destinationKeys, required: ["type"]),
      let type = kind(fields, among: drivers.destinations.map(\.kind)), let driver = drivers.destination(type.value),
      checkKeys(fields, typeName: type.value, kind: "destination", allowed: driver.keys, required: driver.requiredKeys),
      let settings = driver.settings(DriverFields(reader: self, fields: fields))
    else { return nil }
    return Destination(name: name, type: type, driver: driver, settings: settings)
  }

  /// `type:`, one of the registry's kinds, with "did you mean" for near misses.
  private func kind(_ fields: Fields, among kinds: [String]) -> Located<String>? {
    guard let node = fields["type"], let text = string(node, path: fields.path("type"), fromEnvironment: false) else { return nil }
    guard kinds.contains(text.value) else {
      let hint = Suggestion.hint(for: text.value, in: kinds)
      error("\(fields.path("type")) must be one of \(kinds.joined(separator: ", ")), got \(text.quotedForMessage)\(hint)", at: node)
      return nil
    }
    return text
  }

  private func syncLogs(_ node: Node) -> SyncLogs? {
    guard let fields = fields(node, path: "sync_logs", allowed: ConfigKeys.syncLogs, required: ["source"]),
      let source = fields["source"].flatMap({ string($0, path: "sync_logs.source", fromEnvironment: false) })
    else { return nil }
    var schema = Located(SyncLogs.defaultSchema, at: fields.location)
    if let node = fields["schema"], let text = string(node, path: "sync_logs.schema") {
      if text.value.isPlainName() {
        schema = text
      } else {
        invalid(text, at: node, "sync_logs.schema", "must be a plain SQL identifier (letters, digits and _)")
      }
    }
    return SyncLogs(source: source, schema: schema)
  }

  /// Category name → regular expression, in file order. A pattern that does not compile is
  /// reported at the pattern, saying what is wrong with it.
  private func errorCategories(_ node: Node) -> [ErrorCategory] {
    namedEntries(node, path: "error_categories").compactMap { name, value in
      guard !name.value.trimmingCharacters(in: .whitespaces).isEmpty else {
        error("error_categories: a category name must not be empty", at: name.location)
        return nil
      }
      guard name.value != ErrorCategory.uncategorised else {
        error(
          "error_categories: \"\(name.value)\" is where reasons that match no category are listed; name the category differently",
          at: name.location)
        return nil
      }
      let path = "error_categories: category \"\(name.value)\""
      guard let pattern = nonEmptyString(value, path: path, fromEnvironment: false) else { return nil }
      if let problem = ErrorCategory.problem(compiling: pattern.value) {
        error("\(path): \(pattern.quotedForMessage) is not a valid regular expression: \(problem)", at: value)
        return nil
      }
      return ErrorCategory(name: name, pattern: pattern)
    }
  }

  /// Keys that another `type` uses are errors here, so a copied block does not silently do nothing.
  func checkKeys(_ fields: Fields, typeName: String, kind: String, allowed: [String], required: [String]) -> Bool {
    var ok = true
    for entry in fields.entries where entry.key != "type" && !allowed.contains(entry.key) {
      let instead = allowed.isEmpty ? "" : "; \(typeName) \(kind)s use \(allowed.joined(separator: ", "))"
      error("\"\(entry.key)\" is not used by \(typeName) \(kind)s\(instead)", at: entry.keyLocation)
      ok = false
    }
    for key in required where !fields.has(key) {
      error("\(fields.path) is a \(typeName) \(kind) and needs \"\(key)\"", at: fields.location)
      ok = false
    }
    return ok
  }

  func nonEmptyString(_ node: Node, path: String, fromEnvironment: Bool = true) -> Located<String>? {
    guard let text = string(node, path: path, fromEnvironment: fromEnvironment) else { return nil }
    guard !text.value.trimmingCharacters(in: .whitespaces).isEmpty else {
      error("\(path) must not be empty", at: node)
      return nil
    }
    return text
  }

  func interval(_ node: Node, path: String) -> Located<Interval>? {
    guard let text = string(node, path: path) else { return nil }
    guard let interval = Interval(text.value) else {
      invalid(text, at: node, path, "must be a duration like 30s, 15m, 1h30m or 1d")
      return nil
    }
    return text.map { _ in interval }
  }
}
