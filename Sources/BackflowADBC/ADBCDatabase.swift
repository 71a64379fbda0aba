import CADBC

/// One database of a driver, with its options set: what connections are opened from.
public final class ADBCDatabase: @unchecked Sendable {
  let driver: ADBCDriver
  let handle: UnsafeMutablePointer<AdbcDatabase>
  /// Applied to every message before it leaves, so an option's secret never shows.
  let redact: @Sendable (String) -> String

  /// Sets `options` (the driver's own names and string values) in order, then initialises.
  public init(
    driver: ADBCDriver, options: [(name: String, value: String)], redact: @escaping @Sendable (String) -> String
  ) throws {
    self.driver = driver
    self.redact = redact
    handle = .allocate(capacity: 1)
    handle.initialize(to: AdbcDatabase())
    let functions = driver.functions.pointee
    try adbcCall("could not create an ADBC database", redact: redact) {
      functions.DatabaseNew?(handle, $0) ?? .notImplemented
    }
    for option in options {
      try adbcCall("the driver refused the option \(option.name)", redact: redact) {
        functions.DatabaseSetOption?(handle, option.name, option.value, $0) ?? .notImplemented
      }
    }
    try adbcCall("could not open the database", redact: redact) {
      functions.DatabaseInit?(handle, $0) ?? .notImplemented
    }
  }

  // A throwing init that got this far runs deinit too, so failures need no cleanup of their own.
  deinit {
    if handle.pointee.private_data != nil {
      try? adbcCall("") { driver.functions.pointee.DatabaseRelease?(handle, $0) ?? .notImplemented }
    }
    handle.deallocate()
  }

  /// Opens a connection, setting each of `options` before it connects.
  public func connect(options: [(name: String, value: String)] = []) throws -> ADBCConnection {
    try ADBCConnection(database: self, options: options)
  }
}
