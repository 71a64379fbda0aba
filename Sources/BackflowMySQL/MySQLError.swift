import CMariaDB
import Foundation

/// A failure reported by the MySQL or MariaDB server, by MariaDB Connector/C, or by this module.
///
/// The description is the server's or the library's own message with its codes; it never holds
/// the URL or the password the connection was opened with.
public struct MySQLError: Error, CustomStringConvertible, Sendable {
  /// The message as the server or Connector/C reports it, for example "Duplicate entry 'a' for
  /// key 'email'".
  public let message: String
  /// The error number: a server error (1062 duplicate key, 1792 write in a read-only
  /// transaction, …) or a client one from 2000 up (2013 lost connection, …); `nil` for a refusal
  /// by this module before anything reached the server.
  public let code: UInt32?
  /// The five-character SQLSTATE (for example 23000, integrity constraint violation).
  public let sqlState: String?

  /// Makes an error from a message and, for server and client errors, their codes.
  public init(message: String, code: UInt32? = nil, sqlState: String? = nil) {
    self.message = message
    self.code = code
    self.sqlState = sqlState
  }

  /// The message, followed by the error number and SQLSTATE when there are any.
  public var description: String {
    switch (code, sqlState) {
    case (let code?, let sqlState?): return "\(message) (MySQL error \(code), SQLSTATE \(sqlState))"
    case (let code?, nil): return "\(message) (MySQL error \(code))"
    case (nil, let sqlState?): return "\(message) (SQLSTATE \(sqlState))"
    case (nil, nil): return message
    }
  }

  /// Whether the connection is gone, so nothing more can run on it: the server went away (2006),
  /// the connection broke mid-query (2013, 2055), or the server closed it (1927 in MariaDB, 4031
  /// for an idle session in MySQL).
  public var isConnectionLost: Bool {
    guard let code else { return false }
    return [2006, 2013, 2055, 1927, 4031].contains(code)
  }
}

extension MySQLError {
  /// The error Connector/C last recorded on `handle`, with `secret` (a password) removed from
  /// the message should the server or library ever quote it.
  init(lastErrorOf handle: UnsafeMutablePointer<MYSQL>, hiding secret: String?) {
    var message = String(cString: mysql_error(handle))
      .trimmingCharacters(in: .whitespacesAndNewlines)
    if let secret, !secret.isEmpty {
      message = message.replacing(secret, with: "***")
    }
    let sqlState = mysql_sqlstate(handle).map { String(cString: $0) }
    let code = mysql_errno(handle)
    self.init(
      message: message.isEmpty ? "unknown MySQL error" : message,
      code: code == 0 ? nil : code,
      // 00000 means no SQLSTATE was recorded.
      sqlState: sqlState.flatMap { $0.isEmpty || $0 == "00000" ? nil : $0 })
  }
}
