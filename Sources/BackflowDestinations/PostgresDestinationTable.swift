import BackflowConfig
import BackflowPostgres

/// The table a PostgreSQL destination writes, as `prepare` found it in the catalog, and the SQL
/// each batch runs against it.
///
/// A batch is copied into a temporary table whose columns have the target's types, so
/// PostgreSQL itself turns the text of each value into a timestamp, a numeric or jsonb, and then
/// one statement merges it into the target.
public struct PostgresDestinationTable: TableDestinationTable {
  /// The table as the user wrote it (`object:`), for messages.
  public let object: String
  /// The schema-qualified name, quoted, as the catalog spells it.
  let name: String
  /// The columns written, which PostgreSQL names exactly as the sync does.
  public let columns: TableColumns
  /// Whether the table has rules (`CREATE RULE`), which an INSERT runs and a COPY does not.
  let hasRules: Bool

  var matchField: String? { columns.matchField }

  /// The temporary table a batch is copied into; one per connection, emptied at each commit.
  static let batchTable = "pg_temp.backflow_batch"
  /// The batch table's column holding each record's index in its batch.
  static let ordinal = PostgresConnection.quoteIdentifier("backflow ordinal")

  /// Creates this connection's batch table, with the target's column types and no constraints.
  var createBatchTableSQL: String {
    let columns = ["0::integer AS \(Self.ordinal)"] + self.columns.written.map(PostgresConnection.quoteIdentifier)
    return "DROP TABLE IF EXISTS \(Self.batchTable); "
      + "CREATE TEMP TABLE backflow_batch ON COMMIT DELETE ROWS AS SELECT "
      + columns.joined(separator: ", ") + " FROM \(name) WITH NO DATA"
  }

  /// The COPY that fills the batch table for `operation`.
  func copySQL(_ operation: DestinationOperation) -> String {
    let names = [Self.ordinal] + columns.columns(for: operation).map(PostgresConnection.quoteIdentifier)
    return "COPY \(Self.batchTable) (" + names.joined(separator: ", ") + ") FROM STDIN"
  }

  /// The COPY that writes `operation`'s records straight into the target, for a batch none of
  /// whose records the target holds yet: it costs about half the batch table and merge. `nil` for
  /// a table with rules, which the INSERT runs and a COPY would skip.
  func directCopySQL(_ operation: DestinationOperation) -> String? {
    if hasRules { return nil }
    return switch operation {
    // Each of these inserts every record the target does not hold; a conflict is a unique violation.
    case .upsert, .add, .insert, .track:
      "COPY \(name) (" + columns.columns(for: operation).map(PostgresConnection.quoteIdentifier).joined(separator: ", ") + ") FROM STDIN"
    case .update, .delete, .remove, .clearFields, .clear: nil
    }
  }

  /// One record as a row of the batch table, in `copySQL`'s column order.
  func row(_ record: DestinationRecord, ordinal: Int, operation: DestinationOperation) -> [String?]
  {
    var row: [String?] = []
    fill(&row, with: record, ordinal: ordinal, operation: operation)
    return row
  }

  /// `row(…)` into `row`, whose storage is reused: a batch's rows are built one after another.
  /// Without an ordinal, the row is `directCopySQL`'s.
  func fill(_ row: inout [String?], with record: DestinationRecord, ordinal: Int?, operation: DestinationOperation) {
    row.removeAll(keepingCapacity: true)
    if let ordinal { row.append(String(ordinal)) }
    columns.forEachValue(of: record, for: operation) { row.append(Self.copyText($0)) }
  }

  /// The statement that applies the copied batch to the target. For `update` it returns the
  /// ordinals of the records it found; the others were not found.
  func mergeSQL(_ operation: DestinationOperation) -> String {
    let batch = Self.batchTable
    let written = columns.written.map(PostgresConnection.quoteIdentifier).joined(separator: ", ")
    let settable = columns.settable.map(PostgresConnection.quoteIdentifier)
    let match = matchField.map(PostgresConnection.quoteIdentifier) ?? ""
    switch operation {
    case .upsert, .add:
      return "INSERT INTO \(name) AS t (\(written)) SELECT \(written) FROM \(batch) "
        + "ORDER BY \(Self.ordinal) " + columns.onConflict(quote: PostgresConnection.quoteIdentifier)
    case .update:
      guard !settable.isEmpty else {
        return "SELECT b.\(Self.ordinal) FROM \(batch) AS b "
          + "WHERE EXISTS (SELECT FROM \(name) AS t WHERE t.\(match) = b.\(match))"
      }
      return "UPDATE \(name) AS t SET "
        + settable.map { "\($0) = b.\($0)" }.joined(separator: ", ")
        + " FROM \(batch) AS b WHERE t.\(match) = b.\(match) RETURNING b.\(Self.ordinal)"
    case .insert, .track:
      return "INSERT INTO \(name) (\(written)) SELECT \(written) FROM \(batch) "
        + "ORDER BY \(Self.ordinal)"
    case .delete, .remove:
      return "DELETE FROM \(name) AS t USING \(batch) AS b WHERE t.\(match) = b.\(match)"
    case .clearFields:
      return "UPDATE \(name) AS t SET " + settable.map { "\($0) = NULL" }.joined(separator: ", ")
        + " FROM \(batch) AS b WHERE t.\(match) = b.\(match)"
    case .clear:
      return "DELETE FROM \(name)"
    }
  }

  /// COPYs the non-null `keys` into `column` of `table`, as COPY text: the match values a sweep
  /// or a read-back notes before comparing them with the target.
  static func copyKeys(_ keys: [JSONValue], into table: String, column: String, on connection: PostgresConnection)
    throws
  {
    let copy = try connection.copyIn("COPY \(table) (\(column)) FROM STDIN")
    for key in keys where key != .null {
      try copy.write([copyText(key)])
    }
    try copy.finish()
  }

  /// Finds a match value that two records of the copied batch share. An UPDATE … FROM would
  /// apply only one of them, and which one is not defined.
  var duplicateKeySQL: String {
    let match = matchField.map(PostgresConnection.quoteIdentifier) ?? ""
    return "SELECT 1 FROM \(Self.batchTable) GROUP BY \(match) HAVING count(*) > 1 LIMIT 1"
  }

  /// A value as COPY text, which PostgreSQL casts to the column's type: strings as they are,
  /// numbers in digits, booleans as `true`/`false` (read by boolean, jsonb and text columns
  /// alike), arrays and objects as compact JSON, null as NULL.
  static func copyText(_ value: JSONValue) -> String? {
    switch value {
    case .null: nil
    case .string(let text): text
    case .bool(let flag): flag ? "true" : "false"
    case .int(let number): String(number)
    case .double(let number):
      if number.isNaN {
        "NaN"
      } else if number.isInfinite {
        number > 0 ? "Infinity" : "-Infinity"
      } else {
        // Whole numbers without ".0", so an integer column takes them.
        value.rendered(compact: true)
      }
    case .number(let text): text
    case .array, .object: value.rendered(compact: true)
    }
  }
}

extension PostgresDestinationTable {
  /// Finds the target's table and checks that it can take the sync: it exists, has every field
  /// as a column, computes none of the columns written, and, when records are matched, has a
  /// unique index on exactly the match column that `ON CONFLICT` can use.
  static func resolve(_ target: DestinationTarget, on connection: PostgresConnection) throws
    -> PostgresDestinationTable
  {
    let object = target.object
    let parts = try TableSQL.tableName(object)
    // PostgreSQL's own rules first (search_path, unquoted names folded to lower case), then the
    // name exactly as written, so that `object: Contacts` finds a table created as "Contacts".
    var candidates = [object]
    if !object.contains("\"") {
      candidates.append(parts.map(PostgresConnection.quoteIdentifier).joined(separator: "."))
    }
    var found: [String?]?
    for candidate in candidates where found == nil {
      // A name to_regclass cannot parse ("my table") is simply not found this way.
      found = try? connection.query(
        """
        SELECT c.oid, c.relkind, n.nspname, c.relname, c.relhasrules FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)
        """, [candidate]
      ).first
    }
    if found == nil, connection.isLost {
      throw DestinationError("lost the connection to PostgreSQL while looking for \(object)")
    }
    guard let found, let oid = found[0], let kind = found[1], let schema = found[2],
      let relation = found[3]
    else {
      throw TableSQL.missingTable(object, target: target, dialect: .postgres)
    }
    switch kind {
    case "r", "p":
      break
    case "v", "f":
      // An insert-only sync may write through an updatable view or a foreign table.
      if target.mode.matchesRecords, let matchField = target.matchField {
        throw DestinationError(
          "\(object) is a \(kind == "v" ? "view" : "foreign table"); matching records by "
            + "\(matchField) needs a table with a unique index on it")
      }
    default:
      throw DestinationError("\(object) is not a table")
    }

    let columnRows = try connection.query(
      """
      SELECT attname, attnum, attgenerated <> '' OR attidentity = 'a' FROM pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum
      """, [oid])
    let columns = columnRows.compactMap { $0[0] }
    let missing = TableSQL.columns(matchField: target.matchField, fields: target.fields).filter {
      !columns.contains($0)
    }
    guard missing.isEmpty else {
      throw TableSQL.missingColumns(missing, in: object, columns: columns, dialect: .postgres)
    }
    var written = target.fields
    if target.mode != .update, let matchField = target.matchField { written.append(matchField) }
    let generated = columnRows.filter { $0[2] == "t" }.compactMap { $0[0] }
      .filter { written.contains($0) }
    guard generated.isEmpty else { throw TableSQL.generatedColumns(generated, in: object, dialect: .postgres) }

    if target.mode.matchesRecords, let matchField = target.matchField {
      let number = columnRows.first { $0[0] == matchField }?[1] ?? ""
      try checkUniqueIndex(
        on: matchField, number: number, tableOID: oid, object: object, connection: connection)
    }
    return PostgresDestinationTable(
      object: object, name: PostgresConnection.quoteIdentifier(schema) + "." + PostgresConnection.quoteIdentifier(relation),
      columns: TableColumns(matchField: target.matchField, fields: target.fields), hasRules: found[4] == "t")
  }

  /// Throws unless a unique index covers exactly the column numbered `number`, with no WHERE
  /// clause and no expression, checked immediately: the only kind `ON CONFLICT (column)` infers.
  private static func checkUniqueIndex(
    on matchField: String, number: String, tableOID: String, object: String,
    connection: PostgresConnection
  ) throws {
    let indexes = try connection.query(
      """
      SELECT ic.relname, i.indkey::text, i.indnkeyatts, i.indpred IS NOT NULL,
        i.indexprs IS NOT NULL, i.indimmediate, i.indisvalid
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = $1 AND i.indisunique ORDER BY ic.relname
      """, [tableOID])
    var notes: [String] = []
    for index in indexes {
      let name = TableDialect.postgres.readable(index[0] ?? "")
      let keyCount = Int(index[2] ?? "") ?? 0
      let keys = (index[1] ?? "").split(separator: " ").prefix(keyCount).map(String.init)
      guard keys.contains(number) else { continue }
      if keys.count > 1 {
        notes.append("the unique index \(name) also covers other columns")
      } else if index[3] == "t" {
        notes.append("the unique index \(name) is partial (it has a WHERE clause)")
      } else if index[4] == "t" {
        notes.append("the unique index \(name) is on an expression")
      } else if index[5] != "t" {
        notes.append("\(name) is DEFERRABLE, which ON CONFLICT cannot use")
      } else if index[6] != "t" {
        notes.append("the unique index \(name) is not valid (a failed CREATE INDEX CONCURRENTLY?)")
      } else {
        return
      }
    }
    throw TableSQL.missingUniqueIndex(matchField, in: object, notes: notes, dialect: .postgres)
  }
}
