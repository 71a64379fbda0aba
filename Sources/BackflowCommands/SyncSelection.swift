import BackflowConfig

/// `--select`: sync names, `name+` for a sync and every sync that runs after it, as in dbt, and
/// `dbt:MODEL` for every sync on that dbt model (`dbt:MODEL+` with their followers).
struct SyncSelection {
  /// Problems with the selection, such as an unknown name.
  var errors: [String] = []
  /// `nil` selects every sync.
  var names: Set<String>?

  /// Resolves `arguments` (each may hold several names separated by commas) against the project
  /// and the names state knows, so a retired sync can be selected too.
  init(_ arguments: [String], project: Project, knownNames: Set<String>) {
    let terms = arguments.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
    guard !terms.isEmpty else { return }
    let all = knownNames.union(project.syncs.map(\.name.value))
    var selected = Set<String>()
    for term in terms {
      let withFollowers = term.hasSuffix("+")
      let name = withFollowers ? String(term.dropLast()) : term
      if name.hasPrefix(Self.dbtPrefix) {
        let onModel = Self.syncs(onDBTModel: String(name.dropFirst(Self.dbtPrefix.count)), in: project)
        guard !onModel.isEmpty else {
          let used = Set(project.syncs.compactMap { project.model(of: $0)?.dbtModel }).sorted()
          let hint = Suggestion.hint(for: name, in: used.map { Self.dbtPrefix + $0 })
          errors.append("--select: no sync reads the dbt model \"\(name.dropFirst(Self.dbtPrefix.count))\"\(hint)")
          continue
        }
        selected.formUnion(onModel)
        if withFollowers { for sync in onModel { selected.formUnion(Self.followers(of: sync, in: project)) } }
        continue
      }
      guard all.contains(name) else {
        errors.append("--select: there is no sync named \"\(name)\"\(Suggestion.hint(for: name, in: all.sorted()))")
        continue
      }
      selected.insert(name)
      if withFollowers { selected.formUnion(Self.followers(of: name, in: project)) }
    }
    names = selected
  }

  static let dbtPrefix = "dbt:"

  /// Every sync whose model, shared or inline, reads the dbt model `name`.
  static func syncs(onDBTModel name: String, in project: Project) -> Set<String> {
    Set(project.syncs.filter { project.model(of: $0)?.dbtModel == name }.map(\.name.value))
  }

  /// Every sync whose `after:` leads back to `name`, directly or through others.
  static func followers(of name: String, in project: Project) -> Set<String> {
    var found = Set<String>()
    var frontier = [name]
    while let current = frontier.popLast() {
      for sync in project.syncs {
        guard case let .after(leaders, _) = sync.schedule.value, leaders.contains(where: { $0.value == current }),
          found.insert(sync.name.value).inserted
        else { continue }
        frontier.append(sync.name.value)
      }
    }
    return found
  }
}
