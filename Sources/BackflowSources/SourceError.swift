/// A source that cannot be reached or a model query the database refused.
public struct SourceError: Error, CustomStringConvertible, Sendable {
  /// The database's message.
  public let message: String
  /// Where in the model's SQL the database placed the error: a 1-based character offset.
  public let position: Int?

  public init(_ message: String, position: Int? = nil) {
    self.message = message
    self.position = position
  }

  public var description: String { message }
}
