/// A failure reported by libpq or the PostgreSQL server.
///
/// The description is the server's or libpq's own message; it never includes the connection string.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
  /// The message as libpq reports it, trimmed; server errors start with their severity ("ERROR:").
  public let message: String
  /// The five-character SQLSTATE of a server error (for example 23505, unique violation).
  public let sqlState: String?

  /// Makes an error from a message and, for server errors, its SQLSTATE.
  public init(message: String, sqlState: String? = nil) {
    self.message = message
    self.sqlState = sqlState
  }

  /// The message, followed by the SQLSTATE when the server sent one.
  public var description: String {
    guard let sqlState else { return message }
    return "\(message) (SQLSTATE \(sqlState))"
  }
}
