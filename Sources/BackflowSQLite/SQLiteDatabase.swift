import CSQLite

/// An open SQLite database file.
///
/// Not `Sendable`: whether SQLite serialises calls on one handle depends on how the library was
/// compiled, so a handle stays in one isolation region.
public final class SQLiteDatabase {
  private let handle: OpaquePointer

  /// Opens the database at `path`, creating the file unless `readOnly`; the directory must exist.
  public init(path: String, readOnly: Bool = false) throws {
    var handle: OpaquePointer?
    let flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
    let code = sqlite3_open_v2(path, &handle, flags, nil)
    guard code == SQLITE_OK, let handle else {
      // A failed open usually still allocates a handle: it holds the message and must be closed.
      let error = handle.map { SQLiteError(database: $0, code: code) } ?? SQLiteError(code: code)
      sqlite3_close_v2(handle)
      throw error
    }
    // Extended codes tell a UNIQUE violation (2067) from a NOT NULL one (1299), not just "19".
    sqlite3_extended_result_codes(handle, 1)
    // Another process (a second `backflow apply`, a user's sqlite3 shell) may hold the write lock
    // briefly; waiting a little beats failing at once with SQLITE_BUSY.
    sqlite3_busy_timeout(handle, 5_000)
    self.handle = handle
  }

  deinit {
    sqlite3_close_v2(handle)
  }

  /// Runs one or more SQL statements separated by semicolons, discarding any rows.
  public func execute(_ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    let code = sqlite3_exec(handle, sql, nil, nil, &message)
    defer { sqlite3_free(message) }
    guard code == SQLITE_OK else {
      let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
      throw SQLiteError(code: code, message: text)
    }
  }

  /// Runs one statement with `?` parameters bound as text (`nil` binds NULL) and returns every
  /// row as text, `nil` for NULL.
  public func query(_ sql: String, _ bindings: [String?] = []) throws -> [[String?]] {
    let statement = try prepare(sql)
    guard let statement else { return [] }
    defer { sqlite3_finalize(statement) }
    try bind(bindings, to: statement)
    var rows: [[String?]] = []
    let columnCount = sqlite3_column_count(statement)
    while true {
      let code = sqlite3_step(statement)
      if code == SQLITE_DONE { return rows }
      guard code == SQLITE_ROW else { throw SQLiteError(database: handle, code: code) }
      rows.append((0..<columnCount).map { column in text(statement, column) })
    }
  }

  /// Compiles the single statement in `sql`; `nil` when `sql` holds only whitespace or comments.
  private func prepare(_ sql: String) throws -> OpaquePointer? {
    try sql.withCString { text in
      var statement: OpaquePointer?
      var rest: UnsafePointer<CChar>?
      let code = sqlite3_prepare_v2(handle, text, -1, &statement, &rest)
      guard code == SQLITE_OK else { throw SQLiteError(database: handle, code: code) }
      // sqlite3_prepare_v2 compiles only the first statement; running it and silently dropping
      // the others would hide a mistake, so a second statement is refused.
      var next: OpaquePointer?
      if let rest, sqlite3_prepare_v2(handle, rest, -1, &next, nil) == SQLITE_OK, next != nil {
        sqlite3_finalize(next)
        sqlite3_finalize(statement)
        throw SQLiteError(
          code: SQLITE_MISUSE, message: "query() runs one statement; use execute() for several")
      }
      return statement
    }
  }

  private func bind(_ bindings: [String?], to statement: OpaquePointer) throws {
    let parameterCount = Int(sqlite3_bind_parameter_count(statement))
    guard parameterCount == bindings.count else {
      throw SQLiteError(
        code: SQLITE_RANGE,
        message: "the statement has \(parameterCount) parameters but \(bindings.count) were bound")
    }
    for (offset, value) in bindings.enumerated() {
      let index = Int32(offset + 1)
      let code: Int32
      if let value {
        // The Swift string's C buffer lives only for this call, so SQLite must copy it.
        code = sqlite3_bind_text(statement, index, value, -1, sqliteTransient)
      } else {
        code = sqlite3_bind_null(statement, index)
      }
      guard code == SQLITE_OK else { throw SQLiteError(database: handle, code: code) }
    }
  }

  private func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
    guard sqlite3_column_type(statement, column) != SQLITE_NULL,
      let bytes = sqlite3_column_text(statement, column)
    else { return nil }
    // Reading by length keeps text with embedded NUL bytes whole, as String(cString:) would not.
    let count = Int(sqlite3_column_bytes(statement, column))
    return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
  }
}

/// SQLITE_TRANSIENT is a C macro casting -1 to a destructor, which Swift cannot import.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
