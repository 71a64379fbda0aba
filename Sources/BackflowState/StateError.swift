import BackflowConfig

/// A state store that cannot be opened, read or written, said so that the user can act on it.
public struct StateError: Failure {
  public let message: String
  public var kind: FailureKind

  public init(_ message: String, kind: FailureKind = .state) {
    self.message = message
    self.kind = kind
  }
}
