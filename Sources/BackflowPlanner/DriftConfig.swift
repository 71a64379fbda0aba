import BackflowConfig
import BackflowState

/// How one sync's config in the repository compares with the config state says was last
/// applied: the config half of `backflow drift`. Needs no destination.
public struct DriftConfig: Sendable, Equatable {
  public enum Status: String, Sendable, CaseIterable {
    /// The repository holds the config last applied.
    case inSync = "in_sync"
    /// The repository's config differs from the config last applied.
    case changed
    /// Applied, not retired, and gone from the repository: the next apply retires it.
    case orphaned
    /// In the repository, never applied.
    case neverApplied = "never_applied"
  }

  public var status: Status
  /// The changed paths, from the applied config (`before`) to the repository's (`after`); secrets
  /// as written (`${NAME}`).
  public var changes: [ConfigChange]
  /// The git commit of the config last applied, as apply recorded it.
  public var appliedCommit: String?
  /// When the config was last applied (ISO 8601).
  public var appliedAt: String?

  public init(status: Status, changes: [ConfigChange] = [], appliedCommit: String? = nil, appliedAt: String? = nil) {
    self.status = status
    self.changes = changes
    self.appliedCommit = appliedCommit
    self.appliedAt = appliedAt
  }

  /// Whether this is drift: anything but `inSync`.
  public var hasDrift: Bool { status != .inSync }

  /// Compares `sync` (`nil` when it is gone from the repository) with its active `record` in state
  /// (`nil` when it was never applied).
  public init(sync: Sync?, record: SyncRecord?, in project: Project) throws {
    switch (sync, record) {
    case (nil, nil):
      self.init(status: .inSync)
    case (_?, nil):
      self.init(status: .neverApplied)
    case let (nil, record?):
      self.init(status: .orphaned, appliedCommit: record.gitCommit, appliedAt: record.appliedAt)
    case let (sync?, record?):
      // A sync registered but never recorded as applied (a run that stopped before it) has no config yet.
      guard let stored = record.config else {
        self.init(status: .neverApplied)
        return
      }
      let changes = try SyncConfiguration(sync: sync, in: project).changes(since: SyncConfiguration(stored: stored))
      self.init(
        status: changes.isEmpty ? .inSync : .changed, changes: changes, appliedCommit: record.gitCommit,
        appliedAt: record.appliedAt)
    }
  }

  /// The changed paths that move the sync's records elsewhere (another destination, object or
  /// type, or what its driver says points at another place: a database, a file, a server) or
  /// re-key its snapshot, so that what the repository now points at is not what Backflow last
  /// wrote. `destination` is the sync's destination in the repository.
  public func movingChanges(to destination: Destination?) -> [ConfigChange] {
    let moving =
      ["destination.name", "destination.type", "object", "type", "model.primary_key"]
      + (destination?.driver.locationKeys ?? []).map { "destination.\($0)" }
    return changes.filter { change in moving.contains { change.path == $0 || change.path.hasPrefix($0 + ".") } }
  }
}
