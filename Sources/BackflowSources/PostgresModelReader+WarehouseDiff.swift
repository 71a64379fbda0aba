import BackflowConfig
import BackflowPostgres

/// The diff as one statement: the model's rows fingerprinted in the warehouse and joined with the
/// snapshot on the key's text, keeping only the rows that differ, then the entries whose key left
/// the model. See docs/decisions.md.
extension PostgresModelReader: WarehouseDiffing {
  public func reaches(_ mark: PostgresSessionMark, reading table: String) throws -> Bool {
    guard try connection.sees(mark) else { return false }
    let schema = table.split(separator: ".").first.map(String.init) ?? ""
    let rows = try connection.query(
      "SELECT has_schema_privilege($1, 'USAGE') AND has_table_privilege($2, 'SELECT')", [schema, table])
    return rows.first?.first == "t"
  }

  public func diff(
    _ model: ModelSQL, relation: String?, key: String, columns: [String], signature: String, snapshot: WarehouseSnapshot
  ) throws -> any WarehouseDiffStream {
    let types = Dictionary(try describe(model).map { ($0.name, $0.typeOID) }, uniquingKeysWith: { first, _ in first })
    let unique = try relation.map { try keyIsUnique(in: $0, key: key) } ?? false
    let keyText = "(\(PostgresConnection.quoteIdentifier(key)))::text COLLATE \"C\""
    let keys = model.wrapped(select: keyText + " AS \"backflow key\"")
    // The settings hold for this transaction alone (SET LOCAL); the stream ends it. REPEATABLE READ
    // lets the search for repeated keys and the diff see the same rows; a standby allows it.
    do {
      try connection.execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ;"
          + " SELECT set_config(name, 'off', true) FROM pg_settings WHERE name = 'jit'")
    } catch {
      try? connection.execute("ROLLBACK")
      throw SourceError("could not start the warehouse diff: \(error)")
    }
    // Keys that repeat must reach the planner with every one of their rows, since it picks the
    // row with the smallest fingerprint; a unique index on a table's key rules repeats out, and
    // so does finding none now, which is cheaper than joining the diff with the search.
    let search = "SELECT EXISTS (SELECT FROM (\n"
    let repeats: Bool
    do {
      // With parameters (none), libpq refuses a second statement, as the COPY does.
      repeats =
        try !unique
        && connection.query(
          search + keys.sql
            + "\n) AS keys WHERE \"backflow key\" IS NOT NULL GROUP BY \"backflow key\" HAVING count(*) > 1)", []
        ).first?.first == "t"
    } catch let error as PostgresError {
      try? connection.execute("ROLLBACK")
      throw sourceError(error, modelOffset: search.count + keys.modelOffset, model: model)
    }
    let (sql, modelOffset) = Self.diffStatement(
      model, keyText: keyText, keys: keys.sql, repeats: repeats, columns: columns, signature: signature,
      snapshot: snapshot.entries, count: snapshot.count)
    let diff: PostgresDiffStream
    do {
      diff = PostgresDiffStream(
        stream: try connection.copyOut(sql), connection: connection, kinds: columns.map { Kind(oid: types[$0] ?? 0) },
        queryTimeout: queryTimeout)
    } catch let error as PostgresError {
      try? connection.execute("ROLLBACK")
      throw sourceError(error, modelOffset: modelOffset, model: model)
    }
    try diff.start()
    return diff
  }

  /// The diff's `COPY` and where the model's text first starts in it: the model rows LEFT JOINed
  /// with their entries (a NULL key joins none), then the entries whose key left the model. Unlike
  /// a FULL JOIN, which PostgreSQL before 16 runs in one process, both halves run in parallel
  /// workers. With `repeats`, every row of a repeated key is kept too.
  private static func diffStatement(
    _ model: ModelSQL, keyText: String, keys: String, repeats: Bool, columns: [String], signature: String,
    snapshot: String, count: String
  ) -> (sql: String, modelOffset: Int) {
    let fingerprint =
      "md5(\(literal(signature)) || E'\\n' || ROW(\(columns.map(PostgresConnection.quoteIdentifier).joined(separator: ", ")))::text)"
    let (modelRows, modelOffset) = model.wrapped(
      select: ([keyText + " AS \"backflow key\"", fingerprint + " AS \"backflow fingerprint\""]
        + columns.map(PostgresConnection.quoteIdentifier)).joined(separator: ", "))
    let values = columns.map { ", m." + PostgresConnection.quoteIdentifier($0) }.joined()
    let nulls = String(repeating: ", NULL", count: columns.count)
    let prefix = """
      COPY (SELECT * FROM (
      SELECT 1 AS "backflow rank", m."backflow key", m."backflow fingerprint", s.row_key AS "backflow entry key",
        s.fingerprint AS "backflow entry fingerprint", s.match_value AS "backflow match"\(values)
      FROM (

      """
    let repeated =
      repeats
      ? "\nLEFT JOIN (SELECT \"backflow key\" FROM (" + keys
        + "\n) AS keys WHERE \"backflow key\" IS NOT NULL GROUP BY 1 HAVING count(*) > 1) AS repeated"
        + " ON repeated.\"backflow key\" = m.\"backflow key\""
      : ""
    let sql =
      prefix + modelRows + """

        ) AS m
        LEFT JOIN (\(snapshot)) AS s ON s.row_key = m."backflow key"\(repeated)
        WHERE s.row_key IS NULL OR m."backflow fingerprint" <> s.fingerprint\
        \(repeats ? " OR repeated.\"backflow key\" IS NOT NULL" : "")
        UNION ALL
        SELECT 1, NULL, NULL, s.row_key, s.fingerprint, s.match_value\(nulls)
        FROM (\(snapshot)) AS s
        WHERE NOT EXISTS (SELECT FROM (\(keys)
        ) AS m WHERE m."backflow key" = s.row_key)
        UNION ALL
        SELECT 0, (\(count))::text, NULL, NULL, NULL, NULL\(nulls)
        ) AS diff
        ORDER BY "backflow rank", coalesce("backflow key", "backflow entry key") COLLATE "C" NULLS FIRST,
          "backflow fingerprint" COLLATE "C") TO STDOUT
        """
    return (sql, prefix.count + modelOffset)
  }

  /// Whether `table`'s key column alone has a unique index that covers every row `SELECT *`
  /// returns: not partial, not on an expression, not deferred, and no inheritance children
  /// outside it (a partitioned table's unique index spans its partitions).
  private func keyIsUnique(in table: String, key: String) throws -> Bool {
    let rows = try connection.query(
      """
      SELECT count(*) FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = to_regclass($1) AND a.attname = $2 AND i.indisunique AND i.indimmediate AND i.indisvalid
        AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL
        AND (c.relkind = 'p' OR NOT c.relhassubclass)
      """, [table, key])
    return ((rows.first?.first).flatMap { $0.flatMap(Int.init) } ?? 0) > 0
  }

  /// A SQL string literal.
  private static func literal(_ text: String) -> String {
    "'" + text.replacing("'", with: "''") + "'"
  }
}

/// The diff's rows; the transaction the diff runs in ends with them: committed after the last
/// row, rolled back on an error or when the stream is released early.
private final class PostgresDiffStream: WarehouseDiffStream {
  /// `nil` once the transaction has ended; releasing the COPY ends (or cancels) it first.
  private var stream: PostgresCopyOut?
  private let connection: PostgresConnection
  private let kinds: [PostgresModelReader.Kind]
  private let queryTimeout: Interval?
  private(set) var snapshotRows = 0

  init(stream: PostgresCopyOut, connection: PostgresConnection, kinds: [PostgresModelReader.Kind], queryTimeout: Interval?) {
    self.stream = stream
    self.connection = connection
    self.kinds = kinds
    self.queryTimeout = queryTimeout
  }

  deinit {
    if stream != nil { try? end("ROLLBACK") }
  }

  /// Reads the snapshot's row count, which sorts first.
  func start() throws {
    guard let fields = try read(), fields[0] == "0", let count = fields[1].flatMap({ Int($0) }) else {
      try? end("ROLLBACK")
      throw SourceError("the warehouse diff did not start with the snapshot's row count")
    }
    snapshotRows = count
  }

  func next() throws -> WarehouseDiffRow? {
    guard let fields = try read() else { return nil }
    let fingerprint = fields[2]
    var row: ModelRow?
    if fingerprint != nil {
      var values: [FieldValue] = []
      values.reserveCapacity(kinds.count)
      for (index, kind) in kinds.enumerated() { values.append(kind.value(fields[index + 6])) }
      row = ModelRow(key: fields[1], values: values)
    }
    return WarehouseDiffRow(
      row: row, fingerprint: fingerprint, entryKey: fields[3], entryFingerprint: fields[4], matchValue: fields[5])
  }

  /// The next row; after the last one the transaction is committed, after an error rolled back.
  private func read() throws -> [String?]? {
    guard let stream else { return nil }
    let fields: [String?]?
    do {
      fields = try stream.next()
    } catch {
      try? end("ROLLBACK")
      throw SourceError(PostgresModelReader.reason(error, queryTimeout: queryTimeout))
    }
    if fields == nil {
      do {
        try end("COMMIT")
      } catch {
        throw SourceError("\(error)")
      }
    }
    return fields
  }

  private func end(_ statement: String) throws {
    stream = nil
    try connection.execute(statement)
  }
}
