import CLibPQ

/// A failure reported by libpq or the PostgreSQL server.
///
/// The description is the server's or libpq's own message; it never includes the connection string.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
  /// The message as libpq reports it, trimmed; server errors start with their severity ("ERROR:").
  public let message: String
  /// The five-character SQLSTATE of a server error (for example 23505, unique violation).
  public let sqlState: String?
  /// Where in the statement the server found the error: a 1-based offset in characters, not bytes.
  public let position: Int?

  /// Makes an error from a message and, for server errors, its SQLSTATE and statement position.
  public init(message: String, sqlState: String? = nil, position: Int? = nil) {
    self.message = message
    self.sqlState = sqlState
    self.position = position
  }

  /// The message, followed by the SQLSTATE when the server sent one.
  public var description: String {
    guard let sqlState else { return message }
    return "\(message) (SQLSTATE \(sqlState))"
  }
}

extension PostgresError {
  /// The error a failed result carries, with the server's diagnostic fields.
  init(result: OpaquePointer) {
    let field = { (code: Int32) in PQresultErrorField(result, code).map { String(cString: $0) } }
    self.init(
      message: String(cString: PQresultErrorMessage(result)).trimmed(),
      sqlState: field(diagnosticSQLState),
      position: field(diagnosticStatementPosition).flatMap { Int($0) })
  }

  /// The error libpq last recorded on `connection`, for failures that produce no result.
  init(lastErrorOf connection: OpaquePointer) {
    self.init(message: String(cString: PQerrorMessage(connection)).trimmed())
  }
}

extension String {
  /// libpq ends its messages with a newline, which would break one-line logs.
  func trimmed() -> String {
    var text = Substring(self)
    while let last = text.last, last.isWhitespace { text.removeLast() }
    while let first = text.first, first.isWhitespace { text.removeFirst() }
    return String(text)
  }
}

// PG_DIAG_* are character-literal macros, which Swift does not import.
/// PG_DIAG_SQLSTATE ('C').
private let diagnosticSQLState = Int32(UInt8(ascii: "C"))
/// PG_DIAG_STATEMENT_POSITION ('P').
private let diagnosticStatementPosition = Int32(UInt8(ascii: "P"))
