/// The checks that span files: references between names, duplicates, and `after` cycles.
struct ProjectValidator {
  let project: Project
  let sourceNames: [Located<String>]
  let destinationNames: [Located<String>]
  let modelNames: [Located<String>]
  let syncNames: [(name: Located<String>, file: String)]
  /// False when backflow.yaml could not be read: then every source and destination would look
  /// undeclared, and those errors would only bury the one that matters.
  let checksConnections: Bool
  private(set) var diagnostics = Diagnostics()

  init(
    project: Project, sourceNames: [Located<String>], destinationNames: [Located<String>],
    modelNames: [Located<String>], syncNames: [(name: Located<String>, file: String)],
    checksConnections: Bool
  ) {
    self.checksConnections = checksConnections
    self.project = project
    self.sourceNames = sourceNames
    self.destinationNames = destinationNames
    self.modelNames = modelNames
    self.syncNames = syncNames
  }

  mutating func run() {
    reportDuplicates(modelNames, kind: "model")
    reportDuplicates(syncNames.map(\.name), kind: "sync")
    if let logs = project.syncLogs {
      reference(logs.source, among: sourceNames, kind: "source", declaredIn: "backflow.yaml under sources")
    }
    for model in project.models {
      reference(model.source, among: sourceNames, kind: "source", declaredIn: "backflow.yaml under sources")
    }
    var usedModels = Set<String>()
    for sync in project.syncs {
      reference(sync.destination, among: destinationNames, kind: "destination", declaredIn: "backflow.yaml under destinations")
      if let inline = sync.inlineModel {
        reference(inline.source, among: sourceNames, kind: "source", declaredIn: "backflow.yaml under sources")
      } else {
        usedModels.insert(sync.model.value)
        reference(sync.model, among: modelNames, kind: "model", declaredIn: "\(ProjectLoader.modelsDirectory)/\(sync.model.value).yaml")
      }
      if case let .after(leaders, _) = sync.schedule.value {
        for leader in leaders {
          if leader.value == sync.name.value {
            diagnostics.error("sync \"\(sync.name.value)\" cannot run after itself", at: leader.location)
          } else {
            reference(leader, among: syncNames.map(\.name), kind: "sync", declaredIn: "syncs/")
          }
        }
      }
    }
    for model in project.models where !usedModels.contains(model.name.value) {
      diagnostics.warning("model \"\(model.name.value)\" is not used by any sync", at: model.name.location)
    }
    reportAfterCycles()
  }

  private mutating func reference(_ name: Located<String>, among declared: [Located<String>], kind: String, declaredIn: String) {
    guard checksConnections || kind == "model" || kind == "sync" else { return }
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
    for sync in project.syncs {
      if case let .after(names, _) = sync.schedule.value { leaders[sync.name.value] = names }
    }
    var finished = Set<String>()
    var reported = Set<Set<String>>()
    for sync in project.syncs where leaders[sync.name.value] != nil {
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
