import BackflowConfig
import BackflowSQLite
import Foundation

/// Reads a SQLite destination table back for `backflow drift`.
///
/// Each record is looked up by its match value, bound as apply binds it. Fields compare with
/// `IS`, which applies the column's affinity to the value Backflow writes, as storing it did: an
/// INTEGER column compares `42` and `"42"` as one number, a TEXT column as one text.
public final class SQLiteDestinationReader: DestinationReader {
  private let session: SQLiteDestinationSession
  private let table: SQLiteDestinationTable
  private var lookup: SQLiteStatement?
  private var keepTableCreated = false

  static let keepTable = "temp.backflow_drift_keep"

  /// Opens the database (never creating it) and checks the table as apply's `prepare` does.
  public init(path: String, target: DestinationTarget) throws {
    session = try SQLiteDestinationSession(path: path, target: target)
    do {
      table = try SQLiteDestinationTable.resolve(target, in: session.database)
    } catch let error as SQLiteError {
      throw DestinationError("cannot check table \(target.object) in \(path): \(error.message)")
    }
  }

  public func compare(_ records: [DestinationRecord]) throws -> [RecordDrift] {
    guard let matchField = table.matchField else {
      throw DestinationError("reading records back needs a match field (match:)")
    }
    let fields = table.columns.settable
    let statement = try lookupStatement(matchField: matchField, fields: fields)
    return try reading {
      try records.map { record in
        let values = table.columns.values(of: record, for: .upsert).map(SQLiteDestinationTable.binding)
        guard let row = try statement.run(values).first else { return .missing }
        var differences: [FieldDrift] = []
        for (index, field) in fields.enumerated() where row[index * 2] != .integer(1) {
          differences.append(
            FieldDrift(
              field: field, destination: DestinationReaders.truncated(Self.text(row[index * 2 + 1])),
              written: DestinationReaders.truncated(Self.text(values[index + 1]))))
        }
        return differences.isEmpty ? .same : .differs(differences)
      }
    }
  }

  /// `SELECT field IS ?2, field, … WHERE match = ?1`: the comparisons and the stored values.
  private func lookupStatement(matchField: String, fields: [String]) throws -> SQLiteStatement {
    if let lookup { return lookup }
    let columns = fields.enumerated().flatMap { index, field in
      ["t.\(SQLiteDatabase.quoteIdentifier(field)) IS ?\(index + 2)", "t.\(SQLiteDatabase.quoteIdentifier(field))"]
    }
    let sql =
      "SELECT " + (columns.isEmpty ? "1" : columns.joined(separator: ", ")) + " FROM \(table.name) AS t "
      + "WHERE t.\(SQLiteDatabase.quoteIdentifier(matchField)) = ?1 LIMIT 1"
    let statement = try reading { try session.database.compile(sql) }
    lookup = statement
    return statement
  }

  public func expect(_ keys: [JSONValue]) throws {
    let match = try keepTable()
    try reading {
      let insert = try session.database.compile("INSERT INTO \(Self.keepTable) (\(match)) VALUES (?1)")
      try session.database.execute("BEGIN")
      do {
        for key in keys where key != .null {
          try insert.run([SQLiteDestinationTable.binding(key)])
        }
        try session.database.execute("COMMIT")
      } catch {
        if session.database.isInTransaction { _ = try? session.database.execute("ROLLBACK") }
        throw error
      }
    }
  }

  public func unexpected(sample: Int) throws -> (count: Int, sample: [String]) {
    let match = try keepTable()
    let absent =
      "FROM \(table.name) AS t WHERE t.\(match) IS NOT NULL AND t.\(match) NOT IN (SELECT \(match) FROM \(Self.keepTable))"
    return try reading {
      let count = try session.database.query("SELECT count(*) \(absent)", values: []).first?.first
      let values = try session.database.query(
        "SELECT t.\(match) \(absent) ORDER BY t.\(match) LIMIT \(max(sample, 0))", values: [])
      let total: Int = if case let .integer(number)? = count { Int(number) } else { 0 }
      return (total, values.compactMap { DestinationReaders.truncated(Self.text($0.first ?? .null)) })
    }
  }

  /// Creates the temporary table of expected match values on first use, with the match column's
  /// affinity so values compare as they do in the table; returns the match column, quoted.
  private func keepTable() throws -> String {
    guard let matchField = table.matchField else {
      throw DestinationError("finding records that should not be there needs a match field (match:)")
    }
    let match = SQLiteDatabase.quoteIdentifier(matchField)
    guard !keepTableCreated else { return match }
    try reading {
      try session.database.execute(
        """
        DROP TABLE IF EXISTS \(Self.keepTable);
        CREATE TEMP TABLE backflow_drift_keep AS SELECT \(match) FROM \(table.name) WHERE 0;
        CREATE INDEX temp.backflow_drift_keep_match ON backflow_drift_keep (\(match));
        """)
    }
    keepTableCreated = true
    return match
  }

  /// Runs a read, in words the user can act on when it fails.
  private func reading<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as SQLiteError {
      throw DestinationError("cannot read records of \(table.object) in \(session.path): \(error.message)")
    }
  }

  /// A stored value as text: numbers in digits, blobs by size, `nil` for NULL.
  static func text(_ value: SQLiteValue) -> String? {
    switch value {
    case .null: nil
    case let .integer(number): String(number)
    case let .real(number): number.rounded() == number && abs(number) < 1e15 ? String(format: "%.1f", number) : "\(number)"
    case let .text(text): text
    case let .blob(bytes): "(\(bytes.count) bytes of BLOB)"
    }
  }
}
