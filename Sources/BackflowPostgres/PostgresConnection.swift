import CLibPQ

/// A blocking connection to a PostgreSQL server through libpq.
///
/// Not `Sendable`: libpq allows a connection on any thread but never on two at once, so a
/// connection stays in one isolation region and is lent out, not shared.
public final class PostgresConnection {
  private let connection: OpaquePointer

  /// Connects with a libpq URI or key=value string; libpq also applies PG* variables and .pgpass.
  public init(conninfo: String) throws {
    let password = try Self.password(in: conninfo)
    guard let connection = PQconnectdb(conninfo) else {
      throw PostgresError(message: "libpq could not allocate a connection")
    }
    guard PQstatus(connection) == CONNECTION_OK else {
      let message = Self.lastError(of: connection)
      PQfinish(connection)
      throw PostgresError(message: Self.redacting(password, in: message))
    }
    // libpq prints NOTICE and WARNING messages to stderr, where they would interleave with the
    // CLI's own output (`drop table if exists` alone produces one).
    PQsetNoticeProcessor(connection, { _, _ in }, nil)
    // Results are decoded as UTF-8, so the server must send UTF-8 whatever the database uses.
    guard PQsetClientEncoding(connection, "UTF8") == 0 else {
      let message = Self.lastError(of: connection)
      PQfinish(connection)
      throw PostgresError(message: message)
    }
    self.connection = connection
  }

  deinit {
    PQfinish(connection)
  }

  /// Runs SQL and returns every row as text, `nil` for NULL; for small results only.
  ///
  /// With several statements separated by semicolons, only the last one's rows are returned.
  public func query(_ sql: String) throws -> [[String?]] {
    let result = try run(sql)
    defer { PQclear(result) }
    let rowCount = PQntuples(result)
    let columnCount = PQnfields(result)
    var rows: [[String?]] = []
    rows.reserveCapacity(Int(rowCount))
    for row in 0..<rowCount {
      var values: [String?] = []
      values.reserveCapacity(Int(columnCount))
      for column in 0..<columnCount {
        if PQgetisnull(result, row, column) == 1 {
          values.append(nil)
        } else {
          values.append(String(cString: PQgetvalue(result, row, column)))
        }
      }
      rows.append(values)
    }
    return rows
  }

  /// Runs one or more SQL statements, discarding any rows.
  public func execute(_ sql: String) throws {
    PQclear(try run(sql))
  }

  /// Sends `sql` and returns its successful result, which the caller must `PQclear`.
  private func run(_ sql: String) throws -> OpaquePointer {
    guard let result = PQexec(connection, sql) else {
      throw PostgresError(message: Self.lastError(of: connection))
    }
    switch PQresultStatus(result) {
    case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
      return result
    case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
      PQclear(result)
      abandonCopy()
      throw PostgresError(message: "COPY needs the streaming API, not query() or execute()")
    default:
      let message = String(cString: PQresultErrorMessage(result))
      let sqlState = PQresultErrorField(result, diagnosticSQLState).map { String(cString: $0) }
      PQclear(result)
      throw PostgresError(message: message.trimmed(), sqlState: sqlState)
    }
  }

  /// Ends a COPY that PQexec started, so the connection can take the next command.
  private func abandonCopy() {
    _ = PQputCopyEnd(connection, "COPY is not supported here")
    var buffer: UnsafeMutablePointer<CChar>?
    while PQgetCopyData(connection, &buffer, 0) > 0 {
      PQfreemem(buffer)
    }
    while let result = PQgetResult(connection) {
      PQclear(result)
    }
  }

  private static func lastError(of connection: OpaquePointer) -> String {
    String(cString: PQerrorMessage(connection)).trimmed()
  }

  /// The password a connection string carries, if any; throws on a string libpq cannot parse.
  ///
  /// libpq's parse errors quote pieces of the string (a malformed URI is echoed whole, password
  /// included), so those pieces are removed: the error says what is wrong, not what was written.
  private static func password(in conninfo: String) throws -> String? {
    var errorMessage: UnsafeMutablePointer<CChar>?
    guard let options = PQconninfoParse(conninfo, &errorMessage) else {
      let message = errorMessage.map { String(cString: $0) } ?? "invalid connection string"
      PQfreemem(errorMessage)
      throw PostgresError(message: redactingEchoedInput(in: message.trimmed()))
    }
    defer { PQconninfoFree(options) }
    var option = options
    while let keyword = option.pointee.keyword {
      if String(cString: keyword) == "password" {
        return option.pointee.val.map { String(cString: $0) }
      }
      option += 1
    }
    return nil
  }

  /// Defence in depth: libpq does not print passwords, but a message must never carry one.
  private static func redacting(_ password: String?, in message: String) -> String {
    guard let password, !password.isEmpty else { return message }
    return message.replacing(password, with: "***")
  }

  /// Removes the piece of the connection string that a libpq parse error quotes.
  ///
  /// libpq echoes input in three shapes: URI errors end with `: "INPUT"`, key=value errors say
  /// `missing "=" after "INPUT" in …`, and `invalid connection option "KEYWORD"` names a keyword,
  /// not a value, so it stays. The input may itself contain quotes, hence the outermost ones.
  private static func redactingEchoedInput(in message: String) -> String {
    if message.hasPrefix("invalid connection option") { return message }
    if message.hasSuffix("\""), let open = message.firstRange(of: ": \"") {
      return String(message[..<open.upperBound]) + "…\""
    }
    if let open = message.firstRange(of: "after \""), let close = message.lastIndex(of: "\""),
      close >= open.upperBound
    {
      return String(message[..<open.upperBound]) + "…" + String(message[close...])
    }
    // A message shape this code does not know: keep only what precedes the first quote.
    if let quote = message.firstIndex(of: "\"") {
      return String(message[...quote]) + "…\""
    }
    return message
  }
}

extension String {
  fileprivate func trimmed() -> String {
    var text = Substring(self)
    while let last = text.last, last.isWhitespace { text.removeLast() }
    while let first = text.first, first.isWhitespace { text.removeFirst() }
    return String(text)
  }
}

/// PG_DIAG_SQLSTATE, a character-literal macro ('C') that Swift does not import.
private let diagnosticSQLState = Int32(UInt8(ascii: "C"))
