import BackflowConfig
import BackflowConnectors
import BackflowPlanner
import Foundation

/// The project's sync configs as they are at a git ref (`plan --base REF`), to diff with the
/// working tree's: what a pull request changes in the config, next to what that does to the rows.
struct ConfigBase {
  /// How a sync's config differs between the ref and the working tree.
  struct Entry {
    enum Status: String {
      /// In the working tree, not at the ref.
      case added
      case changed
      /// At the ref, gone from the working tree.
      case removed
      /// The same on both sides (for a sync being retired: absent from both).
      case unchanged
    }

    var status: Status
    /// Every changed path, for `changed`; empty otherwise.
    var changes: [ConfigChange]
  }

  /// The ref as the user wrote it (`origin/main`).
  let ref: String
  /// The commit it names.
  let commit: String
  /// Each sync's canonical config at the ref, by name.
  let configs: [String: SyncConfiguration]
  /// Problems in the project at the ref; its syncs that could not be read count as added.
  let diagnostics: Diagnostics
  /// Syncs at the ref that are gone from the working tree and were never applied, so the plan
  /// has nothing to retire; set by `noteUnplannedRemovals`.
  private(set) var unplannedRemovals: [String] = []

  /// Reads `backflow.yaml` and `syncs/**` at `ref` from the repository holding `directory`, and
  /// loads them as `validate` would. A ref that names no commit throws with a message for the user.
  static func load(ref: String, directory: URL, environment: [String: String]) throws -> ConfigBase {
    let repository = GitRepository(directory: directory)
    let commit = try repository.commit(ref)
    let entries = try repository.files(
      at: commit, under: [ProjectLoader.projectFile, ProjectLoader.syncsDirectory])
    guard entries.contains(where: { $0.path == ProjectLoader.projectFile }) else {
      // A project that did not exist at the ref yet: every sync is added.
      return ConfigBase(ref: ref, commit: commit, configs: [:], diagnostics: Diagnostics())
    }
    let contents = try repository.contents(of: entries.map(\.object))
    let temporary = TemporaryFiles.url("base")
    defer { try? FileManager.default.removeItem(at: temporary) }
    do {
      for (entry, data) in zip(entries, contents) {
        let url = temporary.appendingPathComponent(entry.path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
      }
    } catch {
      throw GitRepository.Failure(message: "--base: cannot write the files at \(ref) to a temporary directory: \(error)")
    }
    let loaded = ProjectLoader(directory: temporary, displayPath: ".", environment: environment).load()
    var configs: [String: SyncConfiguration] = [:]
    for sync in loaded.project.syncs {
      // A sync whose config cannot be put in canonical form at the ref counts as added.
      configs[sync.name.value] = try? SyncConfiguration(sync: sync, in: loaded.project)
    }
    return ConfigBase(ref: ref, commit: commit, configs: configs, diagnostics: loaded.diagnostics)
  }

  /// How the sync named `name`, whose working-tree config is `current`, differs from the ref.
  func entry(for name: String, current: SyncConfiguration?) -> Entry {
    switch (configs[name], current) {
    case (nil, nil): Entry(status: .unchanged, changes: [])
    case (nil, _?): Entry(status: .added, changes: [])
    case (_?, nil): Entry(status: .removed, changes: [])
    case let (before?, after?):
      after.changes(since: before).isEmpty
        ? Entry(status: .unchanged, changes: []) : Entry(status: .changed, changes: after.changes(since: before))
    }
  }

  /// Records the syncs at the ref that are neither in `project` nor in `plan`. With a selection
  /// they are left out: only the selected syncs are compared.
  mutating func noteUnplannedRemovals(project: Project, plan: BackflowPlanner.Plan, selection: Set<String>?) {
    guard selection == nil else { return }
    let present = Set(project.syncs.map(\.name.value)).union(plan.syncs.map(\.name))
    unplannedRemovals = configs.keys.filter { !present.contains($0) }.sorted()
  }

  /// `{"ref", "commit", "status", "changes"}`: the `base` member of a sync in JSON plans.
  func json(_ entry: Entry) -> JSONValue {
    .object([
      ("ref", .string(ref)), ("commit", .string(commit)), ("status", .string(entry.status.rawValue)),
      ("changes", .array(entry.changes.map(\.json))),
    ])
  }
}

extension ConfigChange {
  /// `{"path", "before", "after"}`, as in `config_changes`.
  fileprivate var json: JSONValue {
    .object([("path", .string(path)), ("before", before ?? .null), ("after", after ?? .null)])
  }
}
