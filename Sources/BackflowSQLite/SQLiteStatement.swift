import CSQLite

/// One compiled SQLite statement with its parameters bound, stepped through a row at a time.
///
/// Not `Sendable`, like the database it keeps alive.
public final class SQLiteStatement {
  /// Kept alive by the statement, which runs on its connection and reports its errors.
  private let database: SQLiteDatabase
  private let statement: OpaquePointer
  /// Set once stepping reports the end, since stepping again would silently run it once more.
  private var isDone = false

  /// Takes ownership of `statement`, which `database` compiled.
  init(database: SQLiteDatabase, statement: OpaquePointer) {
    self.database = database
    self.statement = statement
  }

  deinit {
    sqlite3_finalize(statement)
  }

  /// The names of the result columns, known as soon as the statement is compiled.
  public var columnNames: [String] {
    (0..<sqlite3_column_count(statement)).map { column in
      sqlite3_column_name(statement, column).map { String(cString: $0) } ?? ""
    }
  }

  /// Moves to the next row: `true` when a row is available, `false` once the statement is done.
  public func step() throws -> Bool {
    guard !isDone else { return false }
    let code = sqlite3_step(statement)
    switch code {
    case SQLITE_ROW:
      return true
    case SQLITE_DONE:
      isDone = true
      return false
    default:
      throw SQLiteError(database: database.handle, code: code)
    }
  }

  /// The value in `column` (0-based) of the current row; `.null` for a column out of range.
  public func value(at column: Int) -> SQLiteValue {
    let index = Int32(clamping: column)
    switch sqlite3_column_type(statement, index) {
    case SQLITE_INTEGER:
      return .integer(sqlite3_column_int64(statement, index))
    case SQLITE_FLOAT:
      return .real(sqlite3_column_double(statement, index))
    case SQLITE_TEXT:
      return text(at: column).map { .text($0) } ?? .null
    case SQLITE_BLOB:
      // An empty blob comes back as a null pointer, so the length decides.
      let count = Int(sqlite3_column_bytes(statement, index))
      guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
      return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
    default:
      return .null
    }
  }

  /// The value in `column` (0-based) of the current row as text, `nil` for NULL.
  public func text(at column: Int) -> String? {
    let index = Int32(clamping: column)
    guard sqlite3_column_type(statement, index) != SQLITE_NULL,
      let bytes = sqlite3_column_text(statement, index)
    else { return nil }
    // Reading by length keeps text with embedded NUL bytes whole, as String(cString:) would not.
    let count = Int(sqlite3_column_bytes(statement, index))
    return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
  }

  /// Binds `values` to `?1`…`?n` in their own storage classes, runs the statement to its end and
  /// returns its rows; a failure leaves the statement ready to run again.
  @discardableResult
  public func run(_ values: [SQLiteValue]) throws -> [[SQLiteValue]] {
    sqlite3_reset(statement)
    sqlite3_clear_bindings(statement)
    defer {
      sqlite3_reset(statement)
      isDone = false
    }
    for (offset, value) in values.enumerated() {
      let slot = Int32(offset + 1)
      let code: Int32
      switch value {
      case .null: code = sqlite3_bind_null(statement, slot)
      case .integer(let number): code = sqlite3_bind_int64(statement, slot, number)
      case .real(let number): code = sqlite3_bind_double(statement, slot, number)
      case .text(let text):
        code = sqlite3_bind_text(statement, slot, text, Int32(clamping: text.utf8.count), sqliteTransient)
      case .blob(let bytes):
        code = bytes.withUnsafeBytes { buffer in
          sqlite3_bind_blob(statement, slot, buffer.baseAddress, Int32(clamping: buffer.count), sqliteTransient)
        }
      }
      guard code == SQLITE_OK else { throw SQLiteError(database: database.handle, code: code) }
    }
    let count = Int(sqlite3_column_count(statement))
    var rows: [[SQLiteValue]] = []
    while try step() {
      rows.append((0..<count).map(value(at:)))
    }
    return rows
  }

  /// Binds text parameters (`nil` binds NULL): `$N` takes the Nth, so one used twice is bound
  /// once, and `?` (or any other name) the one at its position.
  ///
  /// SQLite numbers parameters in order of first appearance, so `$2` before `$1` gets index 1;
  /// the name, not the index, says which value a `$N` takes.
  func bind(_ parameters: [String?]) throws {
    let slots = Array(stride(from: 1, through: sqlite3_bind_parameter_count(statement), by: 1))
    let numbers = slots.map { slot in
      sqlite3_bind_parameter_name(statement, slot).flatMap { dollarNumber(String(cString: $0)) }
        ?? Int(slot)
    }
    let expected = numbers.max() ?? 0
    guard expected == parameters.count else {
      throw SQLiteError(
        code: SQLITE_RANGE,
        message: "the statement has \(expected) parameters but \(parameters.count) were bound")
    }
    for (slot, number) in zip(slots, numbers) {
      let code: Int32
      if let value = parameters[number - 1] {
        // The Swift string's C buffer lives only for this call, so SQLite must copy it; the
        // length keeps text with embedded NUL bytes whole, as reading it back does.
        code = sqlite3_bind_text(
          statement, slot, value, Int32(clamping: value.utf8.count), sqliteTransient)
      } else {
        code = sqlite3_bind_null(statement, slot)
      }
      guard code == SQLITE_OK else { throw SQLiteError(database: database.handle, code: code) }
    }
  }
}

/// N for a parameter named `$N` (PostgreSQL's spelling, which SQLite reads as a name).
private func dollarNumber(_ name: String) -> Int? {
  guard name.first == "$", let number = Int(name.dropFirst()), number > 0 else { return nil }
  return number
}

/// SQLITE_TRANSIENT is a C macro casting -1 to a destructor, which Swift cannot import.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
