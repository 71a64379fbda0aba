import CADBC

/// One connection of a database; statements run on it one at a time.
public final class ADBCConnection: @unchecked Sendable {
  let database: ADBCDatabase
  let handle: UnsafeMutablePointer<AdbcConnection>
  var functions: AdbcDriver { database.driver.functions.pointee }

  init(database: ADBCDatabase, options: [(name: String, value: String)]) throws {
    self.database = database
    handle = .allocate(capacity: 1)
    handle.initialize(to: AdbcConnection())
    let functions = database.driver.functions.pointee
    try adbcCall("could not create an ADBC connection", redact: database.redact) {
      functions.ConnectionNew?(handle, $0) ?? .notImplemented
    }
    for option in options { try setOption(option.name, option.value) }
    try adbcCall("could not connect", redact: database.redact) {
      functions.ConnectionInit?(handle, database.handle, $0) ?? .notImplemented
    }
  }

  // A throwing init that got this far runs deinit too, so failures need no cleanup of their own.
  deinit {
    if handle.pointee.private_data != nil {
      try? adbcCall("") { functions.ConnectionRelease?(handle, $0) ?? .notImplemented }
    }
    handle.deallocate()
  }

  /// Sets a connection option (`adbc.connection.readonly`, `adbc.connection.autocommit`…).
  public func setOption(_ name: String, _ value: String) throws {
    try adbcCall("the driver refused the connection option \(name)=\(value)", redact: database.redact) {
      functions.ConnectionSetOption?(handle, name, value, $0) ?? .notImplemented
    }
  }

  public func commit() throws {
    try adbcCall("could not commit", redact: database.redact) {
      functions.ConnectionCommit?(handle, $0) ?? .notImplemented
    }
  }

  public func rollback() throws {
    try adbcCall("could not roll back", redact: database.redact) {
      functions.ConnectionRollback?(handle, $0) ?? .notImplemented
    }
  }

  /// Runs `sql` and streams its result. With a `timeout`, the statement is cancelled once it has
  /// run that long, and the stream then throws an error whose `timedOut` is set.
  public func query(_ sql: String, timeout: Duration? = nil) throws -> ArrowStream {
    let statement = try ADBCStatement(connection: self, sql: sql, timeout: timeout)
    let stream = UnsafeMutablePointer<ArrowArrayStream>.allocate(capacity: 1)
    stream.initialize(to: ArrowArrayStream())
    do {
      try statement.checked {
        try adbcCall("the query failed", redact: database.redact) {
          functions.StatementExecuteQuery?(statement.handle, stream, nil, $0) ?? .notImplemented
        }
      }
    } catch {
      stream.deallocate()
      throw error
    }
    return try ArrowStream(stream, statement: statement, redact: database.redact)
  }

  /// Runs `sql`, which returns no rows.
  public func execute(_ sql: String) throws {
    let statement = try ADBCStatement(connection: self, sql: sql)
    try adbcCall("the statement failed", redact: database.redact) {
      functions.StatementExecuteQuery?(statement.handle, nil, nil, $0) ?? .notImplemented
    }
  }
}

/// A statement with its SQL set; the stream of its result holds it until the stream ends.
final class ADBCStatement {
  let connection: ADBCConnection
  let handle: UnsafeMutablePointer<AdbcStatement>

  private var deadline: StatementDeadline?

  init(connection: ADBCConnection, sql: String, timeout: Duration? = nil) throws {
    self.connection = connection
    handle = .allocate(capacity: 1)
    handle.initialize(to: AdbcStatement())
    let functions = connection.functions
    try adbcCall("could not create a statement", redact: connection.database.redact) {
      functions.StatementNew?(connection.handle, handle, $0) ?? .notImplemented
    }
    try adbcCall("the driver refused the SQL", redact: connection.database.redact) {
      functions.StatementSetSqlQuery?(handle, sql, $0) ?? .notImplemented
    }
    deadline = timeout.map { StatementDeadline($0, statement: handle, cancel: functions) }
  }

  /// Runs a step of the statement; once its time limit has passed, whatever the step did (failed
  /// because cancelled, or returned a batch late) ends in a time-out error.
  func checked<T>(_ step: () throws -> T) throws -> T {
    let result = Result { try step() }
    if let limit = deadline?.state, limit.reached {
      throw ADBCError(
        limit.cancelFailure ?? "cancelled at its time limit", timedOut: true, cancelled: limit.cancelFailure == nil)
    }
    return try result.get()
  }

  deinit {
    deadline?.disarm()
    if handle.pointee.private_data != nil {
      try? adbcCall("") { connection.functions.StatementRelease?(handle, $0) ?? .notImplemented }
    }
    handle.deallocate()
  }
}
