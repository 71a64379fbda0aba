import BackflowConfig
import BackflowSQLite
import Foundation

/// The connection of a SQLite destination and the statements compiled on it; used on one thread
/// at a time (a `BlockingQueue`).
public final class SQLiteDestinationSession: TableSession {
  let path: String
  let database: SQLiteDatabase
  /// One compiled statement per operation, reused by every record and batch.
  private var statements: [DestinationOperation: SQLiteStatement] = [:]
  /// Reading back: the lookup of one record by its match value, compiled on first use.
  var readBackStatement: SQLiteStatement?

  /// Opens an existing database; Backflow does not create databases or tables.
  public init(path: String, target: DestinationTarget) throws {
    self.path = path
    guard FileManager.default.fileExists(atPath: path) else {
      throw DestinationError(
        "no SQLite database at \(path); Backflow creates neither databases nor tables. Create "
          + "it with the table, choosing each column's type, for example: sqlite3 \(path) '"
          + TableSQL.createTable(target.object, target: target, dialect: .sqlite) + "'")
    }
    do {
      database = try SQLiteDatabase(path: path, create: false)
      // Off by default in SQLite; on, a record that breaks a declared foreign key fails alone
      // instead of landing.
      try database.execute("PRAGMA foreign_keys = ON")
    } catch let error as SQLiteError {
      throw DestinationError("cannot open SQLite database \(path): \(error.message)")
    }
  }

  /// Applies a batch in one transaction, one statement per record, and returns one outcome per
  /// record, in order. A record SQLite refuses (a constraint, a trigger's RAISE) fails alone
  /// with SQLite's message while the transaction goes on; if the refusal rolled the whole
  /// transaction back (`ON CONFLICT ROLLBACK`), the batch runs again without that record.
  ///
  /// A `trace` is told each statement with its values and each result.
  public func send(
    _ batch: DestinationBatch, pending: [Int], outcomes: inout [RecordOutcome?], to table: SQLiteDestinationTable,
    trace: DestinationTrace?
  ) throws {
    let operation = batch.operation
    var pending = pending
    let statement = try self.statement(operation, table: table, batch: batch.number)
    let checksFound = operation == .update
    let selectsFound = table.columns.settable.isEmpty
    attempts: while true {
      try run("BEGIN IMMEDIATE", batch: batch.number, trace: trace)
      var results: [(Int, RecordOutcome)] = []
      for index in pending {
        let values = table.columns.values(of: batch.records[index], for: operation)
        let bindings = values.map(SQLiteDestinationTable.binding)
        trace?(.statement(sql: table.sql(operation), parameters: bindings.map(\.traceLiteral)))
        do {
          let rows = try statement.run(bindings)
          let found = selectsFound ? !rows.isEmpty : database.changes > 0
          if let trace {
            let changed = operation == .update && selectsFound
              ? (found ? "the record exists (no field to update)" : "no row found")
              : "\(plural(database.changes, "row")) changed"
            trace(.result(changed))
          }
          results.append((index, !checksFound || found ? .succeeded : .failed("not found")))
        } catch let error as SQLiteError {
          trace?(.result("error: \(error.message)"))
          if Self.isFatal(error.code) {
            rollback()
            throw DestinationError(
              "SQLite could not write batch \(batch.number) to \(path): \(error.message)")
          }
          guard database.isInTransaction else {
            // The refusal rolled back the records before it too: they run again without it.
            outcomes[index] = .failed(error.message)
            pending.removeAll { $0 == index }
            if pending.isEmpty { break attempts }
            continue attempts
          }
          results.append((index, .failed(error.message)))
        }
      }
      try run("COMMIT", batch: batch.number, trace: trace)
      for (index, outcome) in results { outcomes[index] = outcome }
      break
    }
  }

  /// Each record's statement with its values.
  public func describe(
    _ batch: DestinationBatch, pending: [Int], to table: SQLiteDestinationTable, trace: DestinationTrace
  ) {
    for index in pending {
      let values = table.columns.values(of: batch.records[index], for: batch.operation)
      trace(.statement(sql: table.sql(batch.operation), parameters: values.map { SQLiteDestinationTable.binding($0).traceLiteral }))
      trace.notRun()
    }
  }

  public func resolve(_ target: DestinationTarget) throws -> SQLiteDestinationTable {
    do {
      return try SQLiteDestinationTable.resolve(target, in: database)
    } catch let error as SQLiteError {
      throw DestinationError("cannot check table \(target.object) in \(path): \(error.message)")
    }
  }

  /// A SQLite file does not go away as a server connection can.
  public var isLost: Bool { false }

  /// Empties the table.
  public func clear(_ table: SQLiteDestinationTable) throws {
    do {
      try database.execute(table.sql(.clear))
    } catch let error as SQLiteError {
      throw DestinationError("cannot empty \(table.object): \(error.message)")
    }
  }

  /// The temporary table of mirror's first run (and drift's), holding the match values to keep.
  static let keepTable = "temp.backflow_keep"

  /// Creates the table of kept match values, with the match column's affinity so values
  /// compare as they do in the table.
  public func startSweep(_ table: SQLiteDestinationTable, matchField: String) throws {
    let match = SQLiteDatabase.quoteIdentifier(matchField)
    try sweeping(table, "note the match values of \(table.object) to keep") {
      try database.execute(
        """
        DROP TABLE IF EXISTS \(Self.keepTable);
        CREATE TEMP TABLE backflow_keep AS SELECT \(match) FROM \(table.name) WHERE 0;
        CREATE INDEX temp.backflow_keep_match ON backflow_keep (\(match));
        """)
    }
  }

  /// Adds match values to keep, in one transaction.
  public func keep(_ keys: [JSONValue], table: SQLiteDestinationTable, matchField: String) throws {
    try sweeping(table, "note the match values of \(table.object) to keep") {
      let insert = try database.compile(
        "INSERT INTO \(Self.keepTable) (\(SQLiteDatabase.quoteIdentifier(matchField))) VALUES (?1)")
      try database.execute("BEGIN")
      do {
        for key in keys where key != .null {
          try insert.run([SQLiteDestinationTable.binding(key)])
        }
        try database.execute("COMMIT")
      } catch {
        rollback()
        throw error
      }
    }
  }

  /// Deletes the rows whose match value was not kept and returns how many; rows whose match
  /// value is NULL stay, since no model row can name them.
  public func finishSweep(_ table: SQLiteDestinationTable, matchField: String) throws -> Int {
    let match = SQLiteDatabase.quoteIdentifier(matchField)
    return try sweeping(table, "delete the records of \(table.object) absent from the model") {
      try database.execute(
        "DELETE FROM \(table.name) WHERE \(match) IS NOT NULL "
          + "AND \(match) NOT IN (SELECT \(match) FROM \(Self.keepTable))")
      let deleted = database.changes
      try database.execute("DROP TABLE \(Self.keepTable)")
      return deleted
    }
  }

  public func unkept(_ table: SQLiteDestinationTable, matchField: String, sample: Int) throws
    -> (count: Int, sample: [String?])
  {
    let match = SQLiteDatabase.quoteIdentifier(matchField)
    let absent =
      "FROM \(table.name) AS t WHERE t.\(match) IS NOT NULL AND t.\(match) NOT IN (SELECT \(match) FROM \(Self.keepTable))"
    return try sweeping(table, "read the records of \(table.object) in \(path)") {
      let count = try database.query("SELECT count(*) \(absent)", values: []).first?.first
      let values = try database.query("SELECT t.\(match) \(absent) ORDER BY t.\(match) LIMIT \(sample)", values: [])
      let total: Int = if case let .integer(number)? = count { Int(number) } else { 0 }
      return (total, values.map { Self.text($0.first ?? .null) })
    }
  }

  /// Runs a step of the sweep or of reading back, in words the user can act on when it fails.
  func sweeping<T>(_ table: SQLiteDestinationTable, _ step: String, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as SQLiteError {
      throw DestinationError("cannot \(step): \(error.message)")
    }
  }

  /// The statement for `operation`, compiled on first use.
  private func statement(
    _ operation: DestinationOperation, table: SQLiteDestinationTable, batch: Int
  ) throws -> SQLiteStatement {
    if let statement = statements[operation] { return statement }
    do {
      let statement = try database.compile(table.sql(operation))
      statements[operation] = statement
      return statement
    } catch let error as SQLiteError {
      throw DestinationError(
        "SQLite could not write batch \(batch) to \(table.object): \(error.message)")
    }
  }

  /// Runs a transaction's BEGIN or COMMIT; its failure (the database stayed locked past the
  /// busy timeout, the disk is full) means the batch could not be written at all.
  private func run(_ sql: String, batch: Int, trace: DestinationTrace? = nil) throws {
    trace?(.statement(sql: sql, parameters: []))
    do {
      try database.execute(sql)
    } catch let error as SQLiteError {
      trace?(.result("error: \(error.message)"))
      rollback()
      throw DestinationError("SQLite could not write batch \(batch) to \(path): \(error.message)")
    }
  }

  private func rollback() {
    if database.isInTransaction { _ = try? database.execute("ROLLBACK") }
  }

  /// Failures no record is to blame for: the file, the disk, the lock or memory. Every other
  /// code (a constraint, a type mismatch, an error a trigger raises) fails only its record.
  private static func isFatal(_ code: Int32) -> Bool {
    // SQLITE_PERM, ABORT, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, CORRUPT, FULL,
    // CANTOPEN, PROTOCOL, AUTH, NOTADB: primary codes, the low byte of an extended one.
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 23, 26].contains(code & 0xFF)
  }
}
