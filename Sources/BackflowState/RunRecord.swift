/// Rows per operation of a run.
public struct OperationCounts: Sendable, Equatable {
  public var add = 0
  public var change = 0
  public var remove = 0

  public init(add: Int = 0, change: Int = 0, remove: Int = 0) {
    self.add = add
    self.change = change
    self.remove = remove
  }

  public var total: Int { add + change + remove }
}

/// One run of one sync, as the state store records it.
public struct RunRecord: Sendable, Equatable {
  public enum Status: String, Sendable, CaseIterable {
    case running
    /// Every planned row succeeded.
    case succeeded
    /// Some rows failed, or the sync stopped with an error.
    case failed
    /// Stopped by a signal; rows not attempted are `aborted`.
    case aborted
  }

  /// Numbered by the state store; never reused.
  public var id: Int
  public var syncID: Int
  public var status: Status
  /// Why the sync stopped or was refused, when it did.
  public var error: String?
  public var startedAt: String
  public var finishedAt: String?
  public var gitCommit: String?
  public var rowsQueried: Int
  public var planned: OperationCounts
  public var attempted: OperationCounts
  public var succeeded: OperationCounts
  public var failed: OperationCounts
  /// Planned but never attempted (a signal, a fatal error); retried by the next run.
  public var aborted: OperationCounts

  public init(
    id: Int, syncID: Int, status: Status, error: String? = nil, startedAt: String, finishedAt: String? = nil,
    gitCommit: String?, rowsQueried: Int, planned: OperationCounts, attempted: OperationCounts = .init(),
    succeeded: OperationCounts = .init(), failed: OperationCounts = .init(), aborted: OperationCounts = .init()
  ) {
    self.id = id
    self.syncID = syncID
    self.status = status
    self.error = error
    self.startedAt = startedAt
    self.finishedAt = finishedAt
    self.gitCommit = gitCommit
    self.rowsQueried = rowsQueried
    self.planned = planned
    self.attempted = attempted
    self.succeeded = succeeded
    self.failed = failed
    self.aborted = aborted
  }
}

/// A row a run could not deliver, and why.
public struct FailedRow: Sendable, Equatable {
  /// `add`, `change` or `remove`.
  public var operation: String
  /// The model's primary key; `nil` for a row whose key was NULL.
  public var key: String?
  public var reason: String

  public init(operation: String, key: String?, reason: String) {
    self.operation = operation
    self.key = key
    self.reason = reason
  }
}

/// The rows one run failed for one reason: how many, and the first few.
public struct FailureGroup: Sendable, Equatable {
  public var runID: Int
  public var reason: String
  public var count: Int
  /// The first rows that failed for this reason, in the order they failed.
  public var sample: [FailedRow]

  public init(runID: Int, reason: String, count: Int, sample: [FailedRow]) {
    self.runID = runID
    self.reason = reason
    self.count = count
    self.sample = sample
  }
}
