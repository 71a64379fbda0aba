import CADBC

/// A driver's refusal or failure: its own message (secrets masked by the caller's redaction) and
/// its SQLSTATE when it gave one.
public struct ADBCError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public let sqlState: String?
  /// Whether the driver said it does not implement the call (a 1.0 driver asked for 1.1, an
  /// option it does not know).
  public let isNotImplemented: Bool
  /// Whether the statement ran past its time limit (`ADBCConnection.query(_:timeout:)`), and
  /// whether the driver cancelled it then (else `message` says why it could not).
  public let timedOut: Bool
  public let cancelled: Bool

  public init(
    _ message: String, sqlState: String? = nil, isNotImplemented: Bool = false, timedOut: Bool = false,
    cancelled: Bool = false
  ) {
    self.message = message
    self.sqlState = sqlState
    self.isNotImplemented = isNotImplemented
    self.timedOut = timedOut
    self.cancelled = cancelled
  }

  public var description: String { message }

  /// The status's name as the ADBC specification words it, for a driver that gave no message.
  static func statusName(_ status: AdbcStatusCode) -> String {
    let names = [
      "unknown error", "not implemented", "not found", "already exists", "invalid argument", "invalid state",
      "invalid data", "integrity violation", "internal error", "I/O error", "cancelled", "timeout", "unauthenticated",
      "unauthorized",
    ]
    let index = Int(status) - 1
    return names.indices.contains(index) ? names[index] : "status \(status)"
  }
}

/// Runs one ADBC call with a fresh `AdbcError`, releasing whatever the driver put in it, and
/// throws `what: the driver's message` when the call fails.
func adbcCall(
  _ what: @autoclosure () -> String, redact: (String) -> String = { $0 },
  _ body: (UnsafeMutablePointer<AdbcError>) -> AdbcStatusCode
) throws {
  var error = AdbcError()
  let status = body(&error)
  var message: String?
  var sqlState: String?
  if let text = error.message { message = String(cString: text) }
  let state = withUnsafeBytes(of: error.sqlstate) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  if !state.isEmpty, state != "00000" { sqlState = state }
  error.release?(&error)
  guard status != .ok else { return }
  let reason = message.map { $0.trimmingTrailingWhitespace } ?? ADBCError.statusName(status)
  throw ADBCError(
    redact("\(what()): \(reason)"), sqlState: sqlState, isNotImplemented: status == .notImplemented)
}

extension String {
  fileprivate var trimmingTrailingWhitespace: String {
    var text = Substring(self)
    while text.last?.isWhitespace == true { text.removeLast() }
    return String(text)
  }
}

extension AdbcStatusCode {
  static let ok: AdbcStatusCode = 0
  /// Also what Backflow reports for a function slot the driver left empty.
  static let notImplemented: AdbcStatusCode = 2
}
