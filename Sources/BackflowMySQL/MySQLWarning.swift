/// One row of `SHOW WARNINGS`: a note, warning or error the last statement left.
public struct MySQLWarning: Sendable, Equatable {
  /// "Note", "Warning" or "Error".
  public let level: String
  /// The error number, for example 1265 (data truncated).
  public let code: UInt32
  /// The server's message, for example "Data truncated for column 'name' at row 1".
  public let message: String

  public init(level: String, code: UInt32, message: String) {
    self.level = level
    self.code = code
    self.message = message
  }
}
