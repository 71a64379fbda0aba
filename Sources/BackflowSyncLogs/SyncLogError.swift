import BackflowConfig

/// Why sync logs could not be written; the run itself is recorded in state regardless.
///
/// The message names the source and the schema (or SQLite table prefix) and carries the
/// database's own message, never a connection string.
public struct SyncLogError: Failure {
  public var message: String
  public var kind: FailureKind

  public init(_ message: String, kind: FailureKind = .refused) {
    self.message = message
    self.kind = kind
  }
}
