/// What a sync file names elsewhere, kept even when the sync has other errors, so that one run
/// reports a bad schedule and an undeclared destination together.
struct SyncReferences {
  var name: Located<String>
  /// A shared model under `syncs/models/`; nil for an inline model.
  var model: Located<String>?
  var inlineModelSource: Located<String>?
  var destination: Located<String>?
  var after: [Located<String>] = []
  /// The channels its `alerts:` notify.
  var notify: [Located<String>] = []
  /// The file is not YAML, so what it names is unknown.
  var isUnreadable = false
}

/// The checks that span files: references between names, duplicates, and `after` cycles.
struct ProjectValidator {
  var project: Project
  var sourceNames: [Located<String>]
  var destinationNames: [Located<String>]
  var modelNames: [Located<String>]
  var syncs: [SyncReferences]
  /// False when backflow.yaml could not be read: then every source and destination would look
  /// undeclared, and those errors would only bury the one that matters.
  var checksConnections: Bool
  /// Every channel declared under `notifications:`, broken ones included.
  var notificationNames: [Located<String>] = []
  var diagnostics = Diagnostics()

  private static let sourcesHome = "backflow.yaml under sources"
  private static let destinationsHome = "backflow.yaml under destinations"

  mutating func run() {
    reportDuplicates(modelNames, kind: "model")
    reportDuplicates(syncs.map(\.name), kind: "sync")
    if checksConnections {
      if let logs = project.syncLogs {
        reference(logs.source, among: sourceNames, kind: "source", declaredIn: Self.sourcesHome)
        if let source = project.sources.first(where: { $0.name.value == logs.source.value }),
          let refusal = source.driver.syncLogRefusal
        {
          diagnostics.error("sync_logs.source \(source.name.value) is a \(source.type.value) source: \(refusal)", at: logs.source.location)
        }
      }
      if let dbt = project.dbt {
        reference(dbt.source, among: sourceNames, kind: "source", declaredIn: Self.sourcesHome)
      }
      // A dbt model's default source is dbt.source, reported once above.
      for model in project.models where model.source != project.dbt?.source { reference(model.source, among: sourceNames, kind: "source", declaredIn: Self.sourcesHome) }
    }
    for sync in syncs {
      if checksConnections {
        if let destination = sync.destination {
          reference(destination, among: destinationNames, kind: "destination", declaredIn: Self.destinationsHome)
        }
        if let source = sync.inlineModelSource, source != project.dbt?.source {
          reference(source, among: sourceNames, kind: "source", declaredIn: Self.sourcesHome)
        }
      }
      if let model = sync.model {
        reference(model, among: modelNames, kind: "model", declaredIn: "\(ProjectLoader.modelsDirectory)/\(model.value).yaml")
      }
      for leader in sync.after {
        if leader.value == sync.name.value {
          diagnostics.error("sync \"\(sync.name.value)\" cannot run after itself", at: leader.location)
        } else {
          reference(leader, among: syncs.map(\.name), kind: "sync", declaredIn: "syncs/")
        }
      }
    }
    let usedModels = Set(syncs.compactMap { $0.model?.value })
    let everySyncWasRead = !syncs.contains(where: \.isUnreadable)
    for model in project.models where everySyncWasRead && !usedModels.contains(model.name.value) {
      diagnostics.warning("model \"\(model.name.value)\" is not used by any sync", at: model.name.location)
    }
    reportAfterCycles()
    if checksConnections {
      checkDestinationCapabilities()
      checkAlertChannels()
    }
  }

  mutating func reference(_ name: Located<String>, among declared: [Located<String>], kind: String, declaredIn: String) {
    guard !declared.contains(where: { $0.value == name.value }) else { return }
    let hint = Suggestion.hint(for: name.value, in: declared.map(\.value))
    let message =
      kind == "model"
      ? "model \(name.quotedForMessage) not found: expected \(declaredIn)\(hint)"
      : "\(kind) \(name.quotedForMessage) is not declared in \(declaredIn)\(hint)"
    diagnostics.error(message, at: name.location)
  }

  private mutating func reportDuplicates(_ names: [Located<String>], kind: String) {
    var first: [String: SourceLocation] = [:]
    for name in names {
      if let earlier = first[name.value] {
        diagnostics.error("\(kind) name \"\(name.value)\" is already used at \(earlier); \(kind) names must be unique", at: name.location)
      } else {
        first[name.value] = name.location
      }
    }
  }

  /// Each cycle is reported once, at the `after` entry of its first sync in file order.
  private mutating func reportAfterCycles() {
    var leaders: [String: [Located<String>]] = [:]
    for sync in syncs where !sync.after.isEmpty { leaders[sync.name.value] = sync.after }
    var finished = Set<String>()
    var reported = Set<Set<String>>()
    for sync in syncs where leaders[sync.name.value] != nil {
      var path: [String] = []
      visit(sync.name.value, leaders: leaders, path: &path, finished: &finished, reported: &reported)
    }
  }

  private mutating func visit(
    _ name: String, leaders: [String: [Located<String>]], path: inout [String],
    finished: inout Set<String>, reported: inout Set<Set<String>>
  ) {
    if let start = path.firstIndex(of: name) {
      let cycle = Array(path[start...])
      guard reported.insert(Set(cycle)).inserted, let first = cycle.first,
        let entry = leaders[first]?.first(where: { $0.value == cycle[1 % cycle.count] })
      else { return }
      let chain = (cycle + [first]).joined(separator: " → ")
      diagnostics.error("schedule.after forms a cycle: \(chain); one of these syncs needs another schedule", at: entry.location)
      return
    }
    guard !finished.contains(name), let next = leaders[name] else { return }
    path.append(name)
    for leader in next where leader.value != name {
      visit(leader.value, leaders: leaders, path: &path, finished: &finished, reported: &reported)
    }
    path.removeLast()
    finished.insert(name)
  }
}
