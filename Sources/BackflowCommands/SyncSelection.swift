import BackflowConfig

/// `--select`: sync names, and `name+` for a sync and every sync that runs after it, as in dbt.
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
      guard all.contains(name) else {
        errors.append("--select: there is no sync named \"\(name)\"\(Suggestion.hint(for: name, in: all.sorted()))")
        continue
      }
      selected.insert(name)
      if withFollowers { selected.formUnion(Self.followers(of: name, in: project)) }
    }
    names = selected
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
