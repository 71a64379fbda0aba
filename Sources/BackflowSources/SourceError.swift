import BackflowConfig

/// A source that cannot be reached or a model query the database refused.
public struct SourceError: Failure {
  /// The database's message.
  public let message: String
  public let kind: FailureKind
  /// Where in the model's SQL the database placed the error: a 1-based character offset.
  public let position: Int?

  public init(_ message: String, kind: FailureKind = .refused, position: Int? = nil) {
    self.message = message
    self.kind = kind
    self.position = position
  }
}

extension SourceError {
  /// The message for a model whose query tried to write in its read-only session, with the
  /// server's own words: one wording for every source.
  public static func modelTriedToWrite(_ serverMessage: String) -> String {
    "the model tried to write, and models only read (the session is read-only): \(serverMessage)"
  }

  /// The message for a model query the database cancelled at the source's `query_timeout:`: one
  /// wording for every source.
  public static func queryTimedOut(after timeout: Interval) -> String {
    "the query ran longer than the source's query_timeout: \(timeout) and was cancelled"
  }

  /// The same for a driver that could not cancel it (ADBC), giving the driver's reason.
  public static func queryTimedOut(after timeout: Interval, notCancelledBecause reason: String) -> String {
    "the query ran longer than the source's query_timeout: \(timeout); the driver could not cancel it (\(reason)), "
      + "so it ran to its end and its rows were not used"
  }
}
