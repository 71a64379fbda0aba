import BackflowConfig
import BackflowMySQL
import BackflowSources

/// Models on MySQL or MariaDB: the session is read-only (`SET SESSION TRANSACTION READ ONLY`),
/// so a model that tries to write fails with the server's error 1792 and writes nothing; rows
/// stream from the server one at a time. With `query_timeout:`, the server stops a statement that
/// runs longer (MariaDB's `max_statement_time`, MySQL's `max_execution_time`).
final class MySQLModelReader: ModelReader {
  func quoteIdentifier(_ name: String) -> String { MySQLConnection.quoteIdentifier(name) }

  private let connection: MySQLConnection
  private let queryTimeout: Interval?

  init(settings: MySQLSettings) throws {
    queryTimeout = settings.queryTimeout?.value
    do {
      connection = try settings.connect()
      try connection.execute("SET SESSION TRANSACTION READ ONLY")
    } catch let error as MySQLError {
      throw SourceError("could not connect to MySQL: \(error)", kind: .connection)
    }
    if let queryTimeout {
      do {
        try Self.limitStatements(of: connection, to: queryTimeout)
      } catch let error as MySQLError {
        throw SourceError("could not set the session's statement time limit: \(error)")
      }
    }
  }

  /// MariaDB names the limit `max_statement_time` (seconds); MySQL has no such variable (1193,
  /// unknown system variable) and names it `max_execution_time` (milliseconds, SELECTs only).
  private static func limitStatements(of connection: MySQLConnection, to timeout: Interval) throws {
    do {
      try connection.execute("SET SESSION max_statement_time = \(timeout.seconds)")
    } catch let error as MySQLError where error.code == 1193 {
      try connection.execute("SET SESSION max_execution_time = \(timeout.seconds * 1000)")
    }
  }

  func columns(of model: ModelSQL) throws -> [String] {
    try reading { try connection.stream(Self.wrapped(model, select: "*", rest: "\nLIMIT 0")).columns.map(\.name) }
  }


  func rows(of model: ModelSQL, key: String, columns: [String]) throws -> any ModelRowStream {
    // Byte order of the key's text, as the state store and the merge compare keys.
    let keyText = Self.keyText(key)
    let sql = Self.wrapped(model, select: Self.list(keyText, columns), rest: "\nORDER BY CAST(\(keyText) AS BINARY)")
    return MySQLRowStream(rows: try reading { try connection.stream(sql) }, queryTimeout: queryTimeout)
  }

  func rows(of model: ModelSQL, key: String, equalTo value: String, columns: [String], limit: Int) throws
    -> [ModelRow]
  {
    let keyText = Self.keyText(key)
    let literal = try reading { try connection.quoteLiteral(value) }
    let sql = Self.wrapped(
      model, select: Self.list(keyText, columns),
      rest: "\nWHERE CAST(\(keyText) AS BINARY) = CAST(\(literal) AS BINARY) LIMIT \(max(0, limit))")
    let stream = MySQLRowStream(rows: try reading { try connection.stream(sql) }, queryTimeout: queryTimeout)
    var rows: [ModelRow] = []
    while let row = try stream.next() { rows.append(row) }
    return rows
  }

  private static func keyText(_ key: String) -> String {
    "CAST(\(MySQLConnection.quoteIdentifier(key)) AS CHAR)"
  }

  private static func list(_ keyText: String, _ columns: [String]) -> String {
    ([keyText] + columns.map(MySQLConnection.quoteIdentifier)).joined(separator: ", ")
  }

  /// `SELECT list FROM (model) AS backflow_model rest`, the model on lines of its own.
  private static func wrapped(_ model: ModelSQL, select list: String, rest: String) -> String {
    "SELECT \(list) FROM (\n\(model.text)\n) AS backflow_model\(rest)"
  }

  private func reading<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as MySQLError {
      throw SourceError(Self.reason(error, queryTimeout: queryTimeout))
    }
  }

  /// The server's message, saying plainly when the model tried to write (1792) or ran past
  /// `query_timeout:` (MariaDB's 1969, MySQL's 3024).
  static func reason(_ error: MySQLError, queryTimeout: Interval?) -> String {
    switch error.code {
    case 1792: SourceError.modelTriedToWrite("\(error)")
    case 1969, 3024: queryTimeout.map(SourceError.queryTimedOut) ?? "\(error)"
    default: "\(error)"
    }
  }
}

/// A model's rows from MySQL, typed by their columns: integers stay integers (an unsigned
/// BIGINT beyond Int64 keeps its digits), DECIMAL, FLOAT and DOUBLE keep the server's digits,
/// JSON stays JSON, everything else is text (bytes as `\x` and hex).
private final class MySQLRowStream: ModelRowStream {
  private let rows: MySQLRows
  private let kinds: [Kind]
  private let queryTimeout: Interval?

  enum Kind {
    case integer
    case number
    case json
    case text
  }

  init(rows: MySQLRows, queryTimeout: Interval?) {
    self.rows = rows
    self.queryTimeout = queryTimeout
    kinds = rows.columns.dropFirst().map { column in
      switch column.type {
      case .tiny, .short, .long, .int24, .longLong, .year: .integer
      case .decimal, .newDecimal, .float, .double: .number
      case .json: .json
      default: .text
      }
    }
  }

  func next() throws -> ModelRow? {
    let row: [String?]?
    do {
      row = try rows.next()
    } catch let error as MySQLError {
      throw SourceError(MySQLModelReader.reason(error, queryTimeout: queryTimeout))
    }
    guard let row else { return nil }
    var values: [FieldValue] = []
    values.reserveCapacity(kinds.count)
    for (kind, text) in zip(kinds, row.dropFirst()) {
      guard let text else {
        values.append(.null)
        continue
      }
      switch kind {
      case .integer: values.append(Int64(text).map(FieldValue.integer) ?? .number(text))
      case .number: values.append(.number(text))
      case .json: values.append(.json(text))
      case .text: values.append(.string(text))
      }
    }
    return ModelRow(key: row[0], values: values)
  }
}
