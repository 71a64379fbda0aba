import BackflowConfig
import BackflowPostgres

/// Models on PostgreSQL: described with a prepared statement, streamed with COPY TO STDOUT. The
/// session is read-only (`SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`), so a model whose
/// query writes (through a function, say) fails with the server's error and writes nothing: a
/// plan never changes anything. With a `queryTimeout`, the server cancels a statement that runs
/// longer (`statement_timeout`).
public final class PostgresModelReader: ModelReader {
  public func quoteIdentifier(_ name: String) -> String { PostgresConnection.quoteIdentifier(name) }

  let connection: PostgresConnection
  let queryTimeout: Interval?
  /// Each model is described once: its column names are checked, then its types read its rows.
  private var described: [String: [PostgresColumn]] = [:]
  /// Kept for opening `secondSession`; never shown.
  private let conninfo: String
  /// A second session like `connection`, for a diff split in two; opened on first use, and
  /// `.some(nil)` once it could not be.
  private var secondSession: PostgresConnection?? = nil

  public init(conninfo: String, queryTimeout: Interval? = nil) throws {
    self.queryTimeout = queryTimeout
    self.conninfo = conninfo
    connection = try Self.session(conninfo: conninfo, queryTimeout: queryTimeout)
  }

  /// A read-only session whose statements the server cancels after `queryTimeout`.
  private static func session(conninfo: String, queryTimeout: Interval?) throws -> PostgresConnection {
    let connection: PostgresConnection
    do {
      connection = try PostgresConnection(conninfo: conninfo)
    } catch {
      throw SourceError("could not connect: \(error)", kind: .connection)
    }
    do {
      try connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    } catch {
      throw SourceError("could not make the model session read-only: \(error)")
    }
    if let queryTimeout {
      do {
        try connection.execute("SET statement_timeout = \(queryTimeout.seconds * 1000)")
      } catch {
        throw SourceError("could not set the session's statement_timeout: \(error)")
      }
    }
    return connection
  }

  /// The second session, opened on first use; `nil` when it cannot be (a server out of
  /// connections, say), and then not tried again.
  func openSecondSession() -> PostgresConnection? {
    if let secondSession { return secondSession }
    let opened = try? Self.session(conninfo: conninfo, queryTimeout: queryTimeout)
    secondSession = .some(opened)
    return opened
  }

  public func columns(of model: ModelSQL) throws -> [String] {
    try describe(model).map(\.name)
  }


  public func rows(of model: ModelSQL, key: String, columns: [String]) throws -> any ModelRowStream {
    let types = Dictionary(try describe(model).map { ($0.name, $0.typeOID) }, uniquingKeysWith: { first, _ in first })
    let keyText = "(\(PostgresConnection.quoteIdentifier(key)))::text"
    let list = ([keyText] + columns.map(PostgresConnection.quoteIdentifier)).joined(separator: ", ")
    // "C" orders by bytes, as the state store and the merge do, whatever the database's collation.
    let (select, offset) = model.wrapped(select: list, rest: "\nORDER BY \(keyText) COLLATE \"C\" NULLS FIRST")
    let copy = "COPY (" + select + ") TO STDOUT"
    do {
      let stream = try connection.copyOut(copy)
      return PostgresRowStream(
        stream: stream, kinds: columns.map { Kind(oid: types[$0] ?? 0) }, queryTimeout: queryTimeout)
    } catch let error as PostgresError {
      throw sourceError(error, modelOffset: offset + "COPY (".count, model: model)
    }
  }

  public func rows(of model: ModelSQL, key: String, equalTo value: String, columns: [String], limit: Int) throws
    -> [ModelRow]
  {
    let types = Dictionary(try describe(model).map { ($0.name, $0.typeOID) }, uniquingKeysWith: { first, _ in first })
    let kinds = columns.map { Kind(oid: types[$0] ?? 0) }
    let keyText = "(\(PostgresConnection.quoteIdentifier(key)))::text"
    let list = ([keyText] + columns.map(PostgresConnection.quoteIdentifier)).joined(separator: ", ")
    let (select, offset) = model.wrapped(select: list, rest: "\nWHERE \(keyText) = $1 LIMIT \(max(0, limit))")
    do {
      // The text results are what COPY's text format gives, so values are typed as plans type them.
      return try connection.query(select, [value]).map { fields in
        ModelRow(key: fields[0], values: kinds.enumerated().map { $1.value(fields[$0 + 1]) })
      }
    } catch let error as PostgresError {
      throw sourceError(error, modelOffset: offset, model: model)
    }
  }

  func describe(_ model: ModelSQL) throws -> [PostgresColumn] {
    if let columns = described[model.text] { return columns }
    let (sql, offset) = model.wrapped(select: "*")
    do {
      let columns = try connection.describe(sql)
      described[model.text] = columns
      return columns
    } catch let error as PostgresError {
      throw sourceError(error, modelOffset: offset, model: model)
    }
  }

  /// The server's error, with its position moved from the wrapping statement into the model.
  func sourceError(_ error: PostgresError, modelOffset: Int, model: ModelSQL) -> SourceError {
    let position = error.position.map { $0 - modelOffset }.flatMap { (1...model.text.count).contains($0) ? $0 : nil }
    return SourceError(Self.reason(error, queryTimeout: queryTimeout), position: position)
  }

  /// The server's message, saying plainly when the model tried to write (SQLSTATE 25006,
  /// read_only_sql_transaction) or ran past `query_timeout:` (57014, query_canceled).
  static func reason(_ error: any Error, queryTimeout: Interval?) -> String {
    switch (error as? PostgresError)?.sqlState {
    case "25006": SourceError.modelTriedToWrite("\(error)")
    case "57014": queryTimeout.map(SourceError.queryTimedOut) ?? "\(error)"
    default: "\(error)"
    }
  }

  /// How a column's text becomes a typed value.
  enum Kind {
    case bool
    case integer
    case number
    case json
    case string

    init(oid: UInt32) {
      switch oid {
      case 16: self = .bool
      case 20, 21, 23, 26: self = .integer
      case 700, 701, 1700: self = .number
      case 114, 3802: self = .json
      default: self = .string
      }
    }

    func value(_ text: String?) -> FieldValue {
      guard let text else { return .null }
      switch self {
      case .bool: return .bool(text == "t")
      case .integer: return Int64(text).map(FieldValue.integer) ?? .number(text)
      // NaN and Infinity are not JSON numbers.
      case .number: return Double(text)?.isFinite == true ? .number(text) : .string(text)
      case .json: return .json(text)
      case .string: return .string(text)
      }
    }
  }
}

private final class PostgresRowStream: ModelRowStream {
  let stream: PostgresCopyOut
  let kinds: [PostgresModelReader.Kind]
  let queryTimeout: Interval?

  init(stream: PostgresCopyOut, kinds: [PostgresModelReader.Kind], queryTimeout: Interval?) {
    self.stream = stream
    self.kinds = kinds
    self.queryTimeout = queryTimeout
  }

  func next() throws -> ModelRow? {
    let fields: [String?]?
    do {
      fields = try stream.next()
    } catch {
      throw SourceError(PostgresModelReader.reason(error, queryTimeout: queryTimeout))
    }
    guard let fields else { return nil }
    var values: [FieldValue] = []
    values.reserveCapacity(kinds.count)
    for (index, kind) in kinds.enumerated() { values.append(kind.value(fields[index + 1])) }
    return ModelRow(key: fields[0], values: values)
  }
}
