import BackflowConfig
import BackflowDestinations
import BackflowMySQL
import Foundation

/// One connection of a MySQL destination, used on one thread at a time.
final class MySQLDestinationSession: TableSession {
  let connection: MySQLConnection
  /// Reading back: whether this connection's temporary table of written records exists yet.
  var hasWrittenTable = false

  /// Connects with strict SQL mode, so a value a column cannot hold fails its record instead of
  /// landing truncated or zeroed with a warning.
  init(settings: MySQLSettings) throws {
    do {
      connection = try settings.connect()
      try connection.execute("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')")
    } catch let error as MySQLError {
      throw DestinationError("cannot connect to MySQL: \(error)", kind: .connection)
    }
  }

  func resolve(_ target: DestinationTarget) throws -> MySQLDestinationTable {
    try MySQLDestinationTable.resolve(target, on: connection)
  }

  var isLost: Bool { connection.isLost }

  func clear(_ table: MySQLDestinationTable) throws {
    do {
      try connection.execute(table.sql(.clear, []))
    } catch let error as MySQLError {
      throw DestinationError("cannot empty \(table.object): \(error)")
    }
  }

  func startSweep(_ table: MySQLDestinationTable, matchField: String) throws {
    try sweeping(table, "note the match values of \(table.object) to keep") {
      try keepTable(table, matchField).create()
    }
  }

  func keep(_ keys: [JSONValue], table: MySQLDestinationTable, matchField: String) throws {
    try sweeping(table, "note the match values of \(table.object) to keep") {
      try keepTable(table, matchField).keep(keys)
    }
  }

  func finishSweep(_ table: MySQLDestinationTable, matchField: String) throws -> Int {
    try sweeping(table, "delete the records of \(table.object) absent from the model") {
      let keep = keepTable(table, matchField)
      let deleted = try connection.execute("DELETE t FROM \(keep.absent)")
      try keep.drop()
      return Int(deleted)
    }
  }

  func unkept(_ table: MySQLDestinationTable, matchField: String, sample: Int) throws -> (count: Int, sample: [String?]) {
    try sweeping(table, "read \(table.object) back") {
      let absent = keepTable(table, matchField).absent
      let match = MySQLConnection.quoteIdentifier(matchField)
      let count = try connection.query("SELECT COUNT(*) FROM \(absent)").first?.first?.flatMap { Int($0) } ?? 0
      let values = try connection.query(
        "SELECT CAST(t.\(match) AS CHAR) FROM \(absent) ORDER BY t.\(match) LIMIT \(sample)")
      return (count, values.map { $0.first ?? nil })
    }
  }

  private func keepTable(_ table: MySQLDestinationTable, _ matchField: String) -> MySQLKeepTable {
    MySQLKeepTable(session: self, table: table, matchField: matchField)
  }

  /// Runs a step of mirror's sweep or of reading back, in words the user can act on when it fails.
  func sweeping<T>(_ table: MySQLDestinationTable, _ step: String, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as MySQLError {
      throw DestinationError("cannot \(step): \(error)")
    }
  }

  /// Applies the pending records of a batch. Inserting operations first try one multi-row
  /// statement; when the server refuses it, the batch runs again one statement per record in one
  /// transaction, where a refused record fails alone with the server's message (InnoDB rolls back
  /// only the statement) and the others land.
  func send(
    _ batch: DestinationBatch, pending: [Int], outcomes: inout [RecordOutcome?], to table: MySQLDestinationTable,
    trace: DestinationTrace?
  ) throws {
    let operation = batch.operation
    let rows = try pending.map { try literals(of: batch.records[$0], for: operation, in: table) }
    if trace == nil, rows.count > 1, let bulk = table.bulkSQL(operation, rows) {
      if try attempt(batch.number, { _ = try connection.execute(bulk) }) { return }
    }
    try inTransaction(batch.number) {
      for (index, row) in zip(pending, rows) {
        let sql = table.sql(operation, row)
        trace?(.statement(sql: sql, parameters: []))
        do {
          let changed = try connection.execute(sql)
          let found = operation != .update || (table.columns.settable.isEmpty ? changed > 0 : matchedRows() > 0)
          trace?(.result(found ? "\(changed) row\(changed == 1 ? "" : "s") changed" : "no row found"))
          outcomes[index] = found ? .succeeded : .failed("not found")
        } catch let error as MySQLError where !Self.isFatal(error) {
          trace?(.result("error: \(error.message)"))
          outcomes[index] = .failed(error.message)
        }
      }
    }
  }

  /// Each record's statement, its values as literals.
  func describe(_ batch: DestinationBatch, pending: [Int], to table: MySQLDestinationTable, trace: DestinationTrace)
    throws
  {
    for index in pending {
      trace(.statement(sql: table.sql(batch.operation, try literals(of: batch.records[index], for: batch.operation, in: table)), parameters: []))
      trace.notRun()
    }
  }

  /// Runs `body` in a transaction; `false` when the server refused it for a reason a record may
  /// be to blame for (everything rolled back), and a `DestinationError` when no record is.
  private func attempt(_ batch: Int, _ body: () throws -> Void) throws -> Bool {
    do {
      try inTransaction(batch, body)
      return true
    } catch let error as MySQLError where !Self.isFatal(error) {
      try? connection.rollback()
      return false
    }
  }

  /// `body` between START TRANSACTION and COMMIT; a fatal error rolls back and stops the batch.
  private func inTransaction(_ batch: Int, _ body: () throws -> Void) throws {
    do {
      try connection.begin()
      try body()
      try connection.commit()
    } catch let error as MySQLError where Self.isFatal(error) {
      if !connection.isLost { try? connection.rollback() }
      throw DestinationError("MySQL could not write batch \(batch): \(error)", kind: error.isConnectionLost ? .connection : .refused)
    }
  }

  /// The rows an UPDATE matched, which its affected rows do not say: those count only rows
  /// whose values changed. Connector/C's info reads "Rows matched: 1  Changed: 0  Warnings: 0".
  private func matchedRows() -> Int {
    guard let info = connection.info, let range = info.range(of: "Rows matched:") else { return 0 }
    return Int(info[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }) ?? 0
  }

  /// A record's values as SQL literals, in `columns.columns(for:)` order.
  func literals(of record: DestinationRecord, for operation: DestinationOperation, in table: MySQLDestinationTable)
    throws -> [String]
  {
    try table.columns.values(of: record, for: operation).map(literal)
  }

  /// `value` as MySQL reads it: numbers as exact literals, booleans as TRUE/FALSE, strings,
  /// arrays and objects (as JSON text) quoted by Connector/C for this connection.
  func literal(_ value: JSONValue) throws -> String {
    switch value {
    case .null: return "NULL"
    case let .bool(flag): return flag ? "TRUE" : "FALSE"
    case let .int(number): return String(number)
    case let .double(number):
      guard number.isFinite else { return try connection.quoteLiteral(String(number)) }
      return Int64(exactly: number).map(String.init) ?? String(number)
    case let .number(text):
      return text.wholeMatch(of: /-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/) != nil ? text : try connection.quoteLiteral(text)
    case let .string(text): return try connection.quoteLiteral(text)
    case .array, .object: return try connection.quoteLiteral(value.rendered(compact: true))
    }
  }

  /// Failures no record is to blame for: the connection, the server, a deadlock or lock wait
  /// (which roll back more than one statement), a read-only server. Every other error (a
  /// constraint, a value the column cannot hold, a trigger's SIGNAL) fails only its record.
  static func isFatal(_ error: MySQLError) -> Bool {
    guard let code = error.code else { return true }
    return error.isConnectionLost || code >= 2000 || [1205, 1213, 1290, 1792, 1021, 1114, 1037, 1041].contains(code)
  }
}
