/// What kind of trouble a failure is, so the engine and the commands can act on it rather than on
/// its text.
public enum FailureKind: String, Sendable, CaseIterable {
  /// The project, a request or the system's shape is wrong (a missing table, a bad argument): a
  /// person must change something before trying again.
  case configuration
  /// The system could not be reached, or the connection was lost mid-way: trying again later may work.
  case connection
  /// The system refused a query, a record or a batch, with its own reason.
  case refused
  /// The state store could not be read or written.
  case state
  /// Another process holds the sync's lock.
  case locked
}

/// A failure with a kind and a message a user can act on. The message, which is also its
/// `description`, never holds a secret: connection strings and values from the environment are
/// left out or masked where the failure is made.
public protocol Failure: Error, CustomStringConvertible, Sendable {
  var kind: FailureKind { get }
  var message: String { get }
}

extension Failure {
  public var description: String { message }
}

extension FailureKind {
  /// The kind of any error: a `Failure`'s own; anything else is a refusal by whatever threw it.
  public static func of(_ error: any Error) -> FailureKind {
    (error as? any Failure)?.kind ?? .refused
  }

  /// The message of any error for a user: a `Failure`'s own, anything else as it describes itself.
  public static func message(of error: any Error) -> String {
    (error as? any Failure)?.message ?? String(describing: error)
  }
}
