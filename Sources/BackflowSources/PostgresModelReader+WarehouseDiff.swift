import BackflowPostgres

/// The diff as one statement: the model's rows fingerprinted in the warehouse, FULL JOINed with
/// the snapshot on the key's text, keeping only the rows that differ. See docs/decisions.md.
extension PostgresModelReader: WarehouseDiffing {
  func reaches(_ mark: PostgresSessionMark, reading table: String) throws -> Bool {
    guard try connection.sees(mark) else { return false }
    let schema = table.split(separator: ".").first.map(String.init) ?? ""
    let rows = try connection.query(
      "SELECT has_schema_privilege($1, 'USAGE') AND has_table_privilege($2, 'SELECT')", [schema, table])
    return rows.first?.first == "t"
  }

  func diff(
    _ model: ModelSQL, relation: String?, key: String, columns: [String], signature: String, snapshots table: String,
    syncID: Int
  ) throws -> any WarehouseDiffStream {
    let types = Dictionary(try describe(model).map { ($0.name, $0.typeOID) }, uniquingKeysWith: { first, _ in first })
    let unique = try relation.map { try keyIsUnique(in: $0, key: key) } ?? false
    let keyText = "(\(quotedIdentifier(key)))::text COLLATE \"C\""
    let fingerprint =
      "md5(\(Self.literal(signature)) || E'\\n' || ROW(\(columns.map(quotedIdentifier).joined(separator: ", ")))::text)"
    let (modelRows, modelOffset) = model.wrapped(
      select: ([keyText + " AS \"backflow key\"", fingerprint + " AS \"backflow fingerprint\""]
        + columns.map(quotedIdentifier)).joined(separator: ", "))
    let snapshot = "SELECT row_key, fingerprint, match_value FROM \(table) WHERE sync_id = \(syncID)"
    let values = columns.map { "m." + quotedIdentifier($0) }
    let prefix = """
      COPY (SELECT * FROM (
      SELECT 1 AS "backflow rank", m."backflow key", m."backflow fingerprint", s.row_key AS "backflow entry key",
        s.fingerprint AS "backflow entry fingerprint", s.match_value AS "backflow match"\(values.map { ", " + $0 }.joined())
      FROM (

      """
    // Keys that repeat must reach the planner with every one of their rows, since it picks the
    // row with the smallest fingerprint; a unique index on a table's key rules repeats out.
    let duplicates =
      unique
      ? ""
      : "\nLEFT JOIN (SELECT \"backflow key\" FROM (" + model.wrapped(select: keyText + " AS \"backflow key\"").sql
        + "\n) AS keys WHERE \"backflow key\" IS NOT NULL GROUP BY 1 HAVING count(*) > 1) AS repeated"
        + " ON repeated.\"backflow key\" = m.\"backflow key\""
    let sql =
      prefix + modelRows + """

        ) AS m
        FULL JOIN (\(snapshot)) AS s ON s.row_key = m."backflow key"\(duplicates)
        WHERE m."backflow fingerprint" IS NULL OR m."backflow key" IS NULL OR s.row_key IS NULL
          OR m."backflow fingerprint" <> s.fingerprint\(unique ? "" : " OR repeated.\"backflow key\" IS NOT NULL")
        UNION ALL
        SELECT 0, (SELECT count(*) FROM \(table) WHERE sync_id = \(syncID))::text, NULL, NULL, NULL, NULL\
        \(String(repeating: ", NULL", count: columns.count))
        ) AS diff
        ORDER BY "backflow rank", coalesce("backflow key", "backflow entry key") COLLATE "C" NULLS FIRST,
          "backflow fingerprint" COLLATE "C") TO STDOUT
        """
    do {
      let stream = try connection.copyOut(sql)
      return try PostgresDiffStream(stream: stream, kinds: columns.map { Kind(oid: types[$0] ?? 0) })
    } catch let error as PostgresError {
      throw Self.sourceError(error, modelOffset: prefix.count + modelOffset, model: model)
    }
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

private final class PostgresDiffStream: WarehouseDiffStream {
  let stream: PostgresCopyOut
  let kinds: [PostgresModelReader.Kind]
  let snapshotRows: Int

  init(stream: PostgresCopyOut, kinds: [PostgresModelReader.Kind]) throws {
    self.stream = stream
    self.kinds = kinds
    // The count sorts first.
    guard let fields = try Self.read(stream), fields[0] == "0", let count = fields[1].flatMap({ Int($0) }) else {
      throw SourceError("the warehouse diff did not start with the snapshot's row count")
    }
    snapshotRows = count
  }

  func next() throws -> WarehouseDiffRow? {
    guard let fields = try Self.read(stream) else { return nil }
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

  private static func read(_ stream: PostgresCopyOut) throws -> [String?]? {
    do {
      return try stream.next()
    } catch {
      throw SourceError("\(error)")
    }
  }
}
