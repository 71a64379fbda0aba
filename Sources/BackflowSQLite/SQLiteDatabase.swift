import CSQLite

/// An open SQLite database file.
///
/// Not `Sendable`: whether SQLite serialises calls on one handle depends on how the library was
/// compiled, so a handle stays in one isolation region.
public final class SQLiteDatabase {
  /// The SQLite connection; internal so that statements can report its error messages.
  let handle: OpaquePointer
  /// How long a statement may run, counted from its compilation (`limitStatements(to:)`).
  private var statementLimit: Duration?
  /// When the statement compiled last must stop; the progress handler reads it.
  private var deadline: ContinuousClock.Instant?

  /// Opens the database at `path`, creating the file when `create` and not `readOnly`; the
  /// directory must exist.
  public init(path: String, readOnly: Bool = false, create: Bool = true) throws {
    var handle: OpaquePointer?
    let flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
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

  /// Makes every statement compiled from now on fail with SQLITE_INTERRUPT once it has run for
  /// `limit`: SQLite has no statement timeout of its own, so a progress handler checks the clock
  /// every thousand virtual-machine steps.
  public func limitStatements(to limit: Duration) {
    statementLimit = limit
    sqlite3_progress_handler(
      handle, 1_000,
      { context in
        guard let context else { return 0 }
        let database = Unmanaged<SQLiteDatabase>.fromOpaque(context).takeUnretainedValue()
        return database.deadline.map { ContinuousClock.now >= $0 } == true ? 1 : 0
      }, Unmanaged.passUnretained(self).toOpaque())
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

  /// Runs one statement once with `values` bound in their own storage classes and returns its rows.
  public func query(_ sql: String, values: [SQLiteValue]) throws -> [[SQLiteValue]] {
    try compile(sql).run(values)
  }

  /// Compiles one statement, to run as often as needed with `SQLiteStatement.run(_:)`.
  public func compile(_ sql: String) throws -> SQLiteStatement {
    guard let compiled = try compiled(sql) else {
      throw SQLiteError(code: SQLITE_MISUSE, message: "compile() needs a statement; got none")
    }
    return SQLiteStatement(database: self, statement: compiled)
  }

  /// Rows the last INSERT, UPDATE or DELETE changed, not counting triggers.
  public var changes: Int { Int(sqlite3_changes64(handle)) }

  /// Whether a transaction is open; a failure that rolled it back leaves this `false`.
  public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

  /// Runs one statement with parameters bound as text (`nil` binds NULL) and returns every row
  /// as text, `nil` for NULL.
  ///
  /// Parameters are `?` or PostgreSQL's `$1`, `$2`…; `$N` takes the Nth value wherever it appears.
  public func query(_ sql: String, _ bindings: [String?] = []) throws -> [[String?]] {
    guard let statement = try statement(sql, bindings) else { return [] }
    let columnCount = statement.columnNames.count
    var rows: [[String?]] = []
    while try statement.step() {
      rows.append((0..<columnCount).map { statement.text(at: $0) })
    }
    return rows
  }

  /// Compiles one statement and binds its parameters as `query(_:_:)` does, to step through
  /// its rows one at a time; throws when `sql` holds no statement.
  public func prepare(_ sql: String, _ parameters: [String?] = []) throws -> SQLiteStatement {
    guard let statement = try statement(sql, parameters) else {
      throw SQLiteError(code: SQLITE_MISUSE, message: "prepare() needs a statement; got none")
    }
    return statement
  }

  /// The single statement in `sql` with `parameters` bound; `nil` when `sql` holds only
  /// whitespace or comments.
  private func statement(_ sql: String, _ parameters: [String?]) throws -> SQLiteStatement? {
    guard let compiled = try compiled(sql) else { return nil }
    // Wrapped before binding, so a binding error finalises it too.
    let statement = SQLiteStatement(database: self, statement: compiled)
    try statement.bind(parameters)
    return statement
  }

  /// Compiles the single statement in `sql`; `nil` when `sql` holds only whitespace or comments.
  private func compiled(_ sql: String) throws -> OpaquePointer? {
    deadline = statementLimit.map { ContinuousClock.now + $0 }
    return try sql.withCString { text in
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
          code: SQLITE_MISUSE,
          message: "query() and prepare() take one statement; use execute() for several")
      }
      return statement
    }
  }
}
