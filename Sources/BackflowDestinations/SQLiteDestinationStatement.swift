import BackflowSQLite
import CSQLite

/// One compiled statement of a `SQLiteDestinationDatabase`, run any number of times with values
/// bound to `?1`…`?n` in their own storage classes.
final class SQLiteDestinationStatement {
  /// Kept alive by the statement, which runs on it.
  private let database: SQLiteDestinationDatabase
  private let statement: OpaquePointer

  init(database: SQLiteDestinationDatabase, statement: OpaquePointer) {
    self.database = database
    self.statement = statement
  }

  deinit {
    sqlite3_finalize(statement)
  }

  /// Binds `values`, runs the statement to its end and returns its rows; a failure leaves the
  /// statement ready to run again.
  @discardableResult
  func run(_ values: [SQLiteValue]) throws -> [[SQLiteValue]] {
    sqlite3_reset(statement)
    sqlite3_clear_bindings(statement)
    defer { sqlite3_reset(statement) }
    for (offset, value) in values.enumerated() {
      let slot = Int32(offset + 1)
      let code: Int32
      switch value {
      case .null: code = sqlite3_bind_null(statement, slot)
      case .integer(let number): code = sqlite3_bind_int64(statement, slot, number)
      case .real(let number): code = sqlite3_bind_double(statement, slot, number)
      case .text(let text):
        // The length keeps text with NUL characters whole; SQLite copies the bytes.
        code = sqlite3_bind_text(
          statement, slot, text, Int32(clamping: text.utf8.count), sqliteTransient)
      case .blob(let bytes):
        code = bytes.withUnsafeBytes { buffer in
          sqlite3_bind_blob(
            statement, slot, buffer.baseAddress, Int32(clamping: buffer.count), sqliteTransient)
        }
      }
      guard code == SQLITE_OK else { throw database.lastError(code) }
    }
    var rows: [[SQLiteValue]] = []
    while true {
      let code = sqlite3_step(statement)
      if code == SQLITE_DONE { return rows }
      guard code == SQLITE_ROW else { throw database.lastError(code) }
      rows.append((0..<sqlite3_column_count(statement)).map(value(at:)))
    }
  }

  private func value(at column: Int32) -> SQLiteValue {
    switch sqlite3_column_type(statement, column) {
    case SQLITE_INTEGER:
      return .integer(sqlite3_column_int64(statement, column))
    case SQLITE_FLOAT:
      return .real(sqlite3_column_double(statement, column))
    case SQLITE_TEXT:
      guard let bytes = sqlite3_column_text(statement, column) else { return .null }
      let count = Int(sqlite3_column_bytes(statement, column))
      return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
    case SQLITE_BLOB:
      let count = Int(sqlite3_column_bytes(statement, column))
      guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return .blob([]) }
      return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
    default:
      return .null
    }
  }
}

/// SQLITE_TRANSIENT is a C macro casting -1 to a destructor, which Swift cannot import.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
