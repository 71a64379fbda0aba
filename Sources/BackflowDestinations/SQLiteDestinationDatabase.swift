import BackflowSQLite
import CSQLite

/// A SQLite connection for the destination: statements compiled once and run again with typed
/// values, which BackflowSQLite's driver (text bindings, statements run once) does not offer.
///
/// Not `Sendable`: used on one thread at a time (a `BlockingQueue`).
final class SQLiteDestinationDatabase {
  let handle: OpaquePointer

  /// Opens an existing database for writing; never creates one.
  init(path: String) throws {
    var handle: OpaquePointer?
    let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil)
    guard code == SQLITE_OK, let handle else {
      let error = handle.map {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg($0)))
      }
      sqlite3_close_v2(handle)
      throw error ?? SQLiteError(code: code, message: String(cString: sqlite3_errstr(code)))
    }
    // Extended codes tell a UNIQUE violation (2067) from a NOT NULL one (1299).
    sqlite3_extended_result_codes(handle, 1)
    // Another writer (a second apply, a user's sqlite3 shell) may hold the lock for a moment.
    sqlite3_busy_timeout(handle, 5_000)
    self.handle = handle
  }

  deinit {
    sqlite3_close_v2(handle)
  }

  /// Runs one or more statements, discarding any rows.
  func execute(_ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    let code = sqlite3_exec(handle, sql, nil, nil, &message)
    defer { sqlite3_free(message) }
    guard code == SQLITE_OK else {
      throw SQLiteError(
        code: sqlite3_extended_errcode(handle),
        message: message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)))
    }
  }

  /// Compiles one statement, to run as often as needed.
  func prepare(_ sql: String) throws -> SQLiteDestinationStatement {
    var statement: OpaquePointer?
    let code = sqlite3_prepare_v3(
      handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
    guard code == SQLITE_OK, let statement else { throw lastError(code) }
    return SQLiteDestinationStatement(database: self, statement: statement)
  }

  /// Runs one statement once with `values` and returns its rows.
  func query(_ sql: String, _ values: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
    try prepare(sql).run(values)
  }

  /// Rows the last INSERT, UPDATE or DELETE changed, not counting triggers.
  var changes: Int { Int(sqlite3_changes64(handle)) }

  /// Whether a transaction is open; a failure that rolled it back leaves this `false`.
  var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

  /// The error the handle holds for the call that returned `code`.
  func lastError(_ code: Int32) -> SQLiteError {
    SQLiteError(
      code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
  }
}
