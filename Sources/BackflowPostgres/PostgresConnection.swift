import CLibPQ

/// A blocking connection to a PostgreSQL server through libpq.
///
/// Not `Sendable`: libpq allows a connection on any thread but never on two at once, so a
/// connection stays in one isolation region and is lent out, not shared.
public final class PostgresConnection {
  /// The libpq connection; internal so that a COPY reader can stream from it.
  let handle: OpaquePointer

  /// Connects with a libpq URI or key=value string; libpq also applies PG* variables and .pgpass.
  public init(conninfo: String) throws {
    let password = try Self.password(in: conninfo)
    guard let handle = PQconnectdb(conninfo) else {
      throw PostgresError(message: "libpq could not allocate a connection")
    }
    guard PQstatus(handle) == CONNECTION_OK else {
      let message = PostgresError(lastErrorOf: handle).message
      PQfinish(handle)
      throw PostgresError(message: Self.redacting(password, in: message))
    }
    // libpq prints NOTICE and WARNING messages to stderr, where they would interleave with the
    // CLI's own output (`drop table if exists` alone produces one).
    PQsetNoticeProcessor(handle, { _, _ in }, nil)
    // Results are decoded as UTF-8, so the server must send UTF-8 whatever the database uses.
    guard PQsetClientEncoding(handle, "UTF8") == 0 else {
      let error = PostgresError(lastErrorOf: handle)
      PQfinish(handle)
      throw error
    }
    self.handle = handle
  }

  deinit {
    PQfinish(handle)
  }

  /// Runs SQL and returns every row as text, `nil` for NULL; for small results only.
  ///
  /// With several statements separated by semicolons, only the last one's rows are returned.
  public func query(_ sql: String) throws -> [[String?]] {
    let result = try checked(PQexec(handle, sql))
    defer { PQclear(result) }
    return rows(in: result)
  }

  /// Runs one statement with text parameters `$1`…`$n` (`nil` is NULL) and returns every row as
  /// text, `nil` for NULL; for small results only.
  public func query(_ sql: String, _ parameters: [String?]) throws -> [[String?]] {
    let result = try run(sql, parameters)
    defer { PQclear(result) }
    return rows(in: result)
  }

  /// Runs one or more SQL statements, discarding any rows.
  public func execute(_ sql: String) throws {
    PQclear(try checked(PQexec(handle, sql)))
  }

  /// Runs one statement with text parameters `$1`…`$n` (`nil` is NULL), discarding any rows.
  public func execute(_ sql: String, _ parameters: [String?]) throws {
    _ = try affectedRows(sql, parameters)
  }

  /// Runs one statement as `execute` does and returns how many rows it inserted, updated or
  /// deleted (0 for a statement of another kind).
  public func affectedRows(_ sql: String, _ parameters: [String?]) throws -> Int {
    let result = try run(sql, parameters)
    defer { PQclear(result) }
    return PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
  }

  /// The columns one query would return, found by preparing it without running it.
  ///
  /// Uses the unnamed prepared statement, which the next query replaces.
  public func describe(_ sql: String) throws -> [PostgresColumn] {
    PQclear(try checked(PQprepare(handle, "", sql, 0, nil)))
    let description = try checked(PQdescribePrepared(handle, ""))
    defer { PQclear(description) }
    return (0..<PQnfields(description)).map { column in
      PostgresColumn(
        name: PQfname(description, column).map { String(cString: $0) } ?? "",
        typeOID: PQftype(description, column))
    }
  }

  /// Starts `sql`, one `COPY … TO STDOUT` statement in text format (not CSV), and returns a
  /// reader of its rows; the connection must run nothing else until the reader ends or is released.
  public func copyOut(_ sql: String) throws -> PostgresCopyOut {
    try Self.copyOut([(self, sql)])[0]
  }

  /// Starts one `COPY … TO STDOUT` on each connection, all sent before any is waited for, so the
  /// servers run them at the same time: a COPY's first message is not flushed before its query
  /// has produced rows, and waiting for it would run them one after the other.
  public static func copyOut(_ statements: [(connection: PostgresConnection, sql: String)]) throws -> [PostgresCopyOut] {
    for (index, (connection, sql)) in statements.enumerated() {
      // The extended protocol, unlike PQexec, refuses a second statement hidden after the COPY.
      guard PQsendQueryParams(connection.handle, sql, 0, nil, nil, nil, nil, 0) == 1 else {
        let error = PostgresError(lastErrorOf: connection.handle)
        for sent in statements.prefix(index) { _ = sent.connection.finishCommand() }
        throw error
      }
    }
    var readers: [PostgresCopyOut] = []
    for (index, statement) in statements.enumerated() {
      do {
        readers.append(try statement.connection.startedCopyOut())
      } catch {
        // The readers made so far cancel their COPY when released; the rest are ended here.
        for waiting in statements.dropFirst(index + 1) { _ = waiting.connection.finishCommand() }
        throw error
      }
    }
    return readers
  }

  /// The reader of the COPY sent on this connection, once the server has started it.
  private func startedCopyOut() throws -> PostgresCopyOut {
    let result: OpaquePointer
    do {
      result = try checked(PQgetResult(handle), copyOut: true)
    } catch {
      // What follows a failure (its end) must be read before the connection takes a command.
      _ = finishCommand()
      throw error
    }
    let isBinary = PQbinaryTuples(result) == 1
    PQclear(result)
    guard !isBinary else {
      _ = finishCommand()
      throw PostgresError(message: "copyOut() reads text format, not FORMAT binary")
    }
    return PostgresCopyOut(connection: self)
  }

  /// Sends one statement with text parameters and returns its successful result, which the
  /// caller must `PQclear`.
  private func run(_ sql: String, _ parameters: [String?]) throws -> OpaquePointer {
    let result = try withCStrings(parameters) { values in
      // Clamping leaves an impossible count for libpq to refuse with its own message.
      PQexecParams(handle, sql, Int32(clamping: values.count), nil, values, nil, nil, 0)
    }
    return try checked(result)
  }

  /// Returns the result of the command just sent if it succeeded, which the caller must `PQclear`.
  ///
  /// A COPY TO STDOUT is the one success that `copyOut` wants and every other caller refuses;
  /// a refused COPY is ended so the connection can take the next command.
  private func checked(_ result: OpaquePointer?, copyOut: Bool = false) throws -> OpaquePointer {
    guard let result else { throw PostgresError(lastErrorOf: handle) }
    switch PQresultStatus(result) {
    case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
      if !copyOut { return result }
    case PGRES_COPY_OUT:
      if copyOut { return result }
    case PGRES_COPY_IN, PGRES_COPY_BOTH:
      break
    default:
      let error = PostgresError(result: result)
      PQclear(result)
      throw error
    }
    PQclear(result)
    _ = finishCommand()
    throw PostgresError(
      message: copyOut
        ? "copyOut() needs a COPY … TO STDOUT statement"
        : "COPY needs the streaming API, not query() or execute()")
  }

  /// Reads what is left of the current command, ending any COPY, so the connection can take the
  /// next one; returns the first error the server reported.
  ///
  /// A COPY TO STDOUT is cancelled first: its remaining rows would be thrown away, and reading a
  /// large export to its end only to discard it could take minutes.
  func finishCommand() -> PostgresError? {
    var firstError: PostgresError?
    var cancelled = false
    while let result = PQgetResult(handle) {
      switch PQresultStatus(result) {
      case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
        break
      case PGRES_COPY_IN, PGRES_COPY_BOTH:
        // The server ends the COPY with an error naming this reason; COPY BOTH turns into COPY OUT.
        _ = PQputCopyEnd(handle, "COPY is not supported here")
      case PGRES_COPY_OUT:
        if !cancelled {
          cancel()
          cancelled = true
        }
        var buffer: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(handle, &buffer, 0) > 0 {
          PQfreemem(buffer)
          buffer = nil
        }
      default:
        if firstError == nil { firstError = PostgresError(result: result) }
      }
      PQclear(result)
      // A lost connection has nothing more to read; stopping here cannot loop on its error.
      if PQstatus(handle) == CONNECTION_BAD { break }
    }
    return firstError
  }

  /// Asks the server to stop the running command; best effort, since it may already have ended.
  private func cancel() {
    guard let cancel = PQgetCancel(handle) else { return }
    defer { PQfreeCancel(cancel) }
    // PQcancel writes its own failure here; a failed cancel only means reading on to the end.
    var errorBuffer = [CChar](repeating: 0, count: 256)
    _ = PQcancel(cancel, &errorBuffer, Int32(errorBuffer.count))
  }

  /// Every row of a successful result as text, `nil` for NULL.
  private func rows(in result: OpaquePointer) -> [[String?]] {
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

  /// Calls `body` with a C string per value (`nil` stays `nil`), all kept in one buffer.
  private func withCStrings<Result>(
    _ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> Result
  ) throws -> Result {
    var storage: [CChar] = []
    var offsets: [Int?] = []
    offsets.reserveCapacity(values.count)
    for (index, value) in values.enumerated() {
      guard let value else {
        offsets.append(nil)
        continue
      }
      // libpq reads a text parameter up to its first NUL, which would silently cut the value.
      guard !value.utf8.contains(0) else {
        throw PostgresError(
          message: "parameter $\(index + 1) contains a NUL character, which text cannot hold")
      }
      offsets.append(storage.count)
      storage.append(contentsOf: value.utf8CString)
    }
    return storage.withUnsafeBufferPointer { buffer in
      body(offsets.map { $0.flatMap { offset in buffer.baseAddress.map { $0 + offset } } })
    }
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
