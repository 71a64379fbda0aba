import BackflowState

/// One row of `sync_changelog`, or of `sync_snapshot` (which has no run ID).
public struct SyncLogEntry: Sendable, Equatable {
  public enum OpType: String, Sendable, CaseIterable {
    case added
    case changed
    case removed
    /// Only in `sync_snapshot`: a model row the run did not need to send.
    case unchanged
  }

  public enum Status: String, Sendable, CaseIterable {
    case succeeded
    case failed
    case aborted
  }

  public var opType: OpType
  /// The model's primary key as text; `nil` for a row whose key was NULL.
  public var rowID: String?
  public var status: Status
  public var failedReason: String?
  /// The model row as compact JSON (`{"column": value, …}`).
  public var fields: String

  public init(opType: OpType, rowID: String?, status: Status, failedReason: String? = nil, fields: String) {
    self.opType = opType
    self.rowID = rowID
    self.status = status
    self.failedReason = failedReason
    self.fields = fields
  }
}

/// A run as `sync_runs` records it: the state store's run record plus what names the sync.
public struct SyncLogRun: Sendable, Equatable {
  public var run: RunRecord
  public var syncName: String
  /// The model's primary key column.
  public var primaryKey: String
  /// `destination/object`, as plans show it.
  public var destination: String
  public var modelName: String

  public init(run: RunRecord, syncName: String, primaryKey: String, destination: String, modelName: String) {
    self.run = run
    self.syncName = syncName
    self.primaryKey = primaryKey
    self.destination = destination
    self.modelName = modelName
  }
}
