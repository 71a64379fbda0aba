import BackflowConfig

/// A sync whose lock could not be taken: held by another process (named when the state knows
/// it), or the wait was cancelled.
public struct LockError: Failure {
  public var syncName: String
  /// The lock in the way; `nil` when its row was removed while its holder still runs (PostgreSQL).
  public var holder: LockRecord?
  public var message: String
  public var kind: FailureKind { .locked }

  public init(syncName: String, holder: LockRecord?, message: String) {
    self.syncName = syncName
    self.holder = holder
    self.message = message
  }
}
