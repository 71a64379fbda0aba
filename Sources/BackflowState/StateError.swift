/// A state store that cannot be opened, read or written, said so that the user can act on it.
public struct StateError: Error, CustomStringConvertible, Sendable {
  public let message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
