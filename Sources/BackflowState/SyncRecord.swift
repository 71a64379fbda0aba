/// What the state store knows of one sync: its ID, the config it was last applied with, and any
/// request waiting for its next run.
public struct SyncRecord: Sendable, Equatable {
  /// Assigned on the first apply; never changes and is never reused.
  public var id: Int
  public var name: String
  public var createdAt: String
  /// Set when the sync left the repository and apply retired it; its ID stays taken.
  public var retiredAt: String?
  /// Grows with every change to this sync's state, so a plan made earlier can tell it is stale.
  public var serial: Int
  /// Canonical JSON of the config last applied; secrets appear as written (`${NAME}`), never read.
  public var config: String?
  public var configHash: String?
  /// The model column the snapshot is keyed by.
  public var primaryKey: String?
  public var gitCommit: String?
  public var appliedAt: String?
  public var pending: PendingRequest?
  /// When mirror's first-run sweep deleted the destination records absent from the model.
  public var sweptAt: String?
}

/// A request, made with `backflow resync` or `reset-cdc`, that changes what the next run sends.
public struct PendingRequest: Sendable, Equatable {
  public enum Action: String, Sendable, CaseIterable {
    /// Send every current row as added, without diffing.
    case resync
    /// Empty the destination first, then resync.
    case resyncClear = "resync_clear"
    /// Record a snapshot of the current rows and send nothing.
    case resetCDC = "reset_cdc"
  }

  public var action: Action
  public var requestedBy: String
  public var requestedAt: String

  public init(action: Action, requestedBy: String, requestedAt: String) {
    self.action = action
    self.requestedBy = requestedBy
    self.requestedAt = requestedAt
  }
}

/// One row of a sync's snapshot: the row's key, the fingerprint of what was last sent for it, and
/// the match value it was sent with, so a removal can find the destination record.
public struct SnapshotEntry: Sendable, Equatable {
  public var key: String
  public var fingerprint: String
  /// Compact JSON of the match column's value; `nil` for syncs without `match`.
  public var matchValue: String?
  /// Compact JSON of the id the destination's API gave the record (a rest request's
  /// `result.id`), kept for the row's later requests; `nil` when none is known. A `nil` never
  /// replaces a kept id.
  public var destinationID: String?
  /// The text of the row's planned columns, for the sync's typed copy (`TypedCopy`); not part of
  /// the snapshot itself.
  public var values: [String?]?

  public init(
    key: String, fingerprint: String, matchValue: String? = nil, destinationID: String? = nil, values: [String?]? = nil
  ) {
    self.key = key
    self.fingerprint = fingerprint
    self.matchValue = matchValue
    self.destinationID = destinationID
    self.values = values
  }
}
