import CMariaDB

/// A blocking connection to a MySQL or MariaDB server through MariaDB Connector/C.
///
/// Not `Sendable`: Connector/C allows a connection on any thread but never on two at once, so a
/// connection stays in one isolation region and is lent out, not shared.
///
/// The session speaks utf8mb4, refuses `LOAD DATA LOCAL` (which lets a server read the client's
/// files), never reconnects behind the caller's back (that would silently end a transaction), and
/// runs one statement per call: without multi-statements, text after a `;` is a syntax error, so
/// a model query cannot `COMMIT` its read-only transaction and write after it.
public final class MySQLConnection {
  /// The Connector/C connection; internal so that a row stream can read from it.
  let handle: UnsafeMutablePointer<MYSQL>
  /// Removed from every error message, should the server or library ever quote it.
  let password: String?
  /// Set while a `MySQLRows` reads from the connection, which can run nothing else until then.
  var isStreaming = false
  /// Set once an error says the connection is gone.
  public internal(set) var isLost = false

  /// Connects with a `mysql://USER:PASSWORD@HOST:PORT/DATABASE` URL (see
  /// `MySQLConfiguration.init(url:)`); errors never show the URL or the password.
  public convenience init(url: String) throws {
    try self.init(configuration: MySQLConfiguration(url: url))
  }

  /// Connects as `configuration` says.
  public init(configuration: MySQLConfiguration) throws {
    guard libraryStatus == 0 else {
      throw MySQLError(message: "MariaDB Connector/C could not be initialised")
    }
    guard let handle = mysql_init(nil) else {
      throw MySQLError(message: "MariaDB Connector/C could not allocate a connection")
    }
    do {
      try Self.setOptions(of: handle, from: configuration)
    } catch {
      mysql_close(handle)
      throw error
    }
    let connected = mysql_real_connect(
      handle, configuration.host, configuration.user, configuration.password,
      configuration.database, UInt32(clamping: configuration.port), configuration.socketPath, 0)
    guard connected != nil else {
      let error = MySQLError(lastErrorOf: handle, hiding: configuration.password)
      mysql_close(handle)
      throw error
    }
    self.handle = handle
    self.password = configuration.password
  }

  deinit {
    mysql_close(handle)
  }

  /// Runs one statement and returns the number of rows it changed (for an UPDATE, the rows whose
  /// values changed, not the rows it matched), or the number of rows it returned, discarded.
  @discardableResult
  public func execute(_ sql: String) throws -> UInt64 {
    try send(sql)
    var count = mysql_affected_rows(handle)
    if mysql_field_count(handle) > 0 {
      // A statement with rows: they are read one at a time and thrown away, and counted.
      guard let result = mysql_use_result(handle) else { throw failure() }
      count = 0
      while mysql_fetch_row(result) != nil { count += 1 }
      let failed = mysql_errno(handle) != 0
      let error = failed ? failure() : nil
      mysql_free_result(result)
      if let error { throw error }
    }
    try finishStatement()
    return count
  }

  /// Runs one statement and returns every row, each value as text or `nil` for NULL; for small
  /// results only (`stream(_:)` reads large ones a row at a time).
  public func query(_ sql: String) throws -> [[String?]] {
    let rows = try stream(sql)
    var all: [[String?]] = []
    while let row = try rows.next() { all.append(row) }
    return all
  }

  /// Runs one statement and returns a reader of its rows, which come from the server as they are
  /// read (`mysql_use_result`), so memory stays flat however large the result; a statement without
  /// rows gives a reader with no columns and no rows.
  ///
  /// The connection must run nothing else until the reader has returned `nil`, thrown, or been
  /// released; releasing it early reads the rest of the result and throws it away.
  public func stream(_ sql: String) throws -> MySQLRows {
    try send(sql)
    guard mysql_field_count(handle) > 0 else {
      try finishStatement()
      return MySQLRows(connection: self, result: nil)
    }
    guard let result = mysql_use_result(handle) else { throw failure() }
    isStreaming = true
    return MySQLRows(connection: self, result: result)
  }

  /// The warnings of the last statement, as `SHOW WARNINGS` reports them.
  public func warnings() throws -> [MySQLWarning] {
    try query("SHOW WARNINGS").map { row in
      MySQLWarning(
        level: row[0] ?? "", code: row[1].flatMap { UInt32($0) } ?? 0, message: row[2] ?? "")
    }
  }

  /// How many errors, warnings and notes the last statement produced.
  public var warningCount: Int {
    Int(mysql_warning_count(handle))
  }

  /// The AUTO_INCREMENT value the last INSERT generated; 0 when it generated none.
  public var lastInsertID: UInt64 {
    mysql_insert_id(handle)
  }

  /// What the last statement reported beyond its count, for example "Records: 3  Duplicates: 1
  /// Warnings: 0" for a multi-row INSERT; `nil` when it reported nothing.
  public var info: String? {
    mysql_info(handle).map { String(cString: $0) }
  }

  /// The server's version as it reports it, for example "10.11.6-MariaDB-0+deb12u1" or "8.4.3".
  public var serverVersion: String {
    mysql_get_server_info(handle).map { String(cString: $0) } ?? ""
  }

  /// The server's version as a number: major × 10000 + minor × 100 + patch (101106, 80403).
  public var serverVersionNumber: Int {
    Int(mysql_get_server_version(handle))
  }

  /// Whether the server is MariaDB rather than MySQL, whose SQL differs in places.
  public var isMariaDB: Bool {
    mariadb_connection(handle) != 0
  }

  /// The server's id for this session, which `KILL QUERY` takes from another connection.
  public var connectionID: UInt64 {
    UInt64(mysql_thread_id(handle))
  }

  /// The character set the session speaks: utf8mb4.
  public var characterSet: String {
    String(cString: mysql_character_set_name(handle))
  }

  /// Sends one statement; the server has run it when this returns.
  private func send(_ sql: String) throws {
    guard !isStreaming else {
      throw MySQLError(
        message: "a streamed result is still open on this connection; read it to its end or release it")
    }
    // With its length, so a NUL inside a string literal travels as data.
    let status = sql.withCString { text in
      mysql_real_query(handle, text, UInt(sql.utf8.count))
    }
    guard status == 0 else { throw failure() }
  }

  /// Reads the further results a statement may leave (a CALL sends one after its rows), so the
  /// connection can take the next statement; throws the first error among them.
  func finishStatement() throws {
    while mysql_more_results(handle) != 0 {
      let status = mysql_next_result(handle)
      if status > 0 { throw failure() }
      if status < 0 { break }
      if let result = mysql_use_result(handle) { mysql_free_result(result) }
    }
  }

  /// The error Connector/C last recorded, noting whether it lost the connection.
  func failure() -> MySQLError {
    let error = MySQLError(lastErrorOf: handle, hiding: password)
    if error.isConnectionLost { isLost = true }
    return error
  }

  private static func setOptions(
    of handle: UnsafeMutablePointer<MYSQL>, from configuration: MySQLConfiguration
  ) throws {
    func set(_ option: mysql_option, _ value: UnsafeRawPointer?, _ name: String) throws {
      guard mysql_options(handle, option, value) == 0 else {
        throw MySQLError(message: "MariaDB Connector/C refused the option \(name)")
      }
    }
    // Results are decoded as UTF-8, so the server must send utf8mb4 whatever its tables use.
    try "utf8mb4".withCString { try set(MYSQL_SET_CHARSET_NAME, $0, "charset") }
    var off: UInt32 = 0
    try set(MYSQL_OPT_LOCAL_INFILE, &off, "local_infile")
    var reconnect: my_bool = 0
    try set(MYSQL_OPT_RECONNECT, &reconnect, "reconnect")
    let timeouts = [
      (MYSQL_OPT_CONNECT_TIMEOUT, configuration.connectTimeout, "connect_timeout"),
      (MYSQL_OPT_READ_TIMEOUT, configuration.readTimeout, "read_timeout"),
      (MYSQL_OPT_WRITE_TIMEOUT, configuration.writeTimeout, "write_timeout"),
    ]
    for case (let option, let timeout?, let name) in timeouts {
      var seconds = MySQLConfiguration.wholeSeconds(timeout)
      try set(option, &seconds, name)
    }
  }
}

/// Connector/C's one-time global set-up, which is not thread-safe; a global `let` runs it once,
/// before the first connection, however many threads connect at the same time.
private let libraryStatus = mysql_server_init(0, nil, nil)
