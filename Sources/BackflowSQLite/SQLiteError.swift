import CSQLite

/// A failure reported by SQLite: its message and its (extended) result code.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
  /// The extended result code, for example 2067 (SQLITE_CONSTRAINT_UNIQUE) or 8 (SQLITE_READONLY).
  public let code: Int32
  /// SQLite's message, for example "UNIQUE constraint failed: contacts.email".
  public let message: String

  /// Makes an error from a result code and message.
  public init(code: Int32, message: String) {
    self.code = code
    self.message = message
  }

  /// The generic text SQLite has for `code`, for failures that leave no database message.
  init(code: Int32) {
    self.init(code: code, message: String(cString: sqlite3_errstr(code)))
  }

  /// The message the database handle holds for the failure that returned `code`.
  init(database: OpaquePointer, code: Int32) {
    self.init(code: code, message: String(cString: sqlite3_errmsg(database)))
  }

  /// Whether the statement was interrupted, as `SQLiteDatabase.limitStatements(to:)` does.
  public var isInterrupt: Bool { code == SQLITE_INTERRUPT }

  /// The message, followed by the result code.
  public var description: String { "\(message) (SQLite result code \(code))" }
}
