import BackflowConfig
import BackflowState

/// What `backflow drift` found: per sync, its config against the config last applied and its
/// destination records against what Backflow last wrote.
public struct DriftReport: Sendable {
  /// One sync, in the repository or only in state.
  public struct Sync: Sendable {
    public var name: String
    /// The sync's ID in state; `nil` for a sync never applied.
    public var id: Int?
    public var config: DriftConfig
    /// `nil` when the data was not looked at at all (an orphaned sync).
    public var data: DriftData?
    /// A resync or CDC reset waiting for the next run.
    public var pending: PendingRequest?

    public init(name: String, id: Int?, config: DriftConfig, data: DriftData? = nil, pending: PendingRequest? = nil) {
      self.name = name
      self.id = id
      self.config = config
      self.data = data
      self.pending = pending
    }

    public var hasDrift: Bool { config.hasDrift || (data?.hasDrift ?? false) }
  }

  /// The repository's git commit, when it is one.
  public var commit: String?
  public var syncs: [Sync]
  /// Whether `--repair` ran.
  public var repaired = false

  public init(commit: String?, syncs: [Sync]) {
    self.commit = commit
    self.syncs = syncs
  }

  public var hasDrift: Bool { syncs.contains(where: \.hasDrift) }

  /// Whether a data check failed.
  public var hasErrors: Bool { syncs.contains { $0.data?.failed ?? false } }

  /// The config half for every sync in `selection` (every one when `nil`): the project's syncs by
  /// name, then the syncs state holds that the project no longer has. Data is left `nil`.
  public static func configDrift(
    project: Project, records: [SyncRecord], selection: Set<String>? = nil, commit: String?
  ) throws -> DriftReport {
    let active = records.filter { $0.retiredAt == nil }
    var syncs: [Sync] = []
    for sync in project.syncs.sorted(by: { $0.name.value < $1.name.value })
    where selection?.contains(sync.name.value) ?? true {
      let record = active.first { $0.name == sync.name.value }
      syncs.append(
        Sync(
          name: sync.name.value, id: record?.id, config: try DriftConfig(sync: sync, record: record, in: project),
          pending: record?.pending))
    }
    let names = Set(project.syncs.map(\.name.value))
    for record in active where !names.contains(record.name) && (selection?.contains(record.name) ?? true) {
      syncs.append(
        Sync(
          name: record.name, id: record.id, config: try DriftConfig(sync: nil, record: record, in: project),
          pending: record.pending))
    }
    return DriftReport(commit: commit, syncs: syncs)
  }
}
