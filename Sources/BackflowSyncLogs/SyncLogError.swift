/// Why sync logs could not be written; the run itself is recorded in state regardless.
///
/// The message names the source and the schema (or SQLite table prefix) and carries the
/// database's own message, never a connection string.
public struct SyncLogError: Error, CustomStringConvertible, Sendable {
  public var message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
