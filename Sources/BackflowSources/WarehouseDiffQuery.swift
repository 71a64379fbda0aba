import BackflowPostgres

/// The warehouse diff's SQL on PostgreSQL, one builder for every way of reaching it: the native
/// reader wraps the SELECT in `COPY … TO STDOUT`, the ADBC reader runs it as it is. See
/// docs/decisions.md ("Planning").
public enum WarehouseDiffQuery {
  /// The model's key as text, compared by its bytes.
  public static func keyText(_ key: String) -> String {
    "(\(PostgresConnection.quoteIdentifier(key)))::text COLLATE \"C\""
  }

  /// The model's keys as text, in a column named `backflow key`.
  public static func keys(_ model: ModelSQL, key: String) -> (sql: String, modelOffset: Int) {
    model.wrapped(select: keyText(key) + " AS \"backflow key\"")
  }

  /// One row, one boolean: whether a key repeats in the model.
  public static func repeatSearch(_ model: ModelSQL, key: String) -> (sql: String, modelOffset: Int) {
    let prefix = "SELECT EXISTS (SELECT FROM (\n"
    let keys = keys(model, key: key)
    return (
      prefix + keys.sql
        + "\n) AS keys WHERE \"backflow key\" IS NOT NULL GROUP BY \"backflow key\" HAVING count(*) > 1)",
      prefix.count + keys.modelOffset
    )
  }

  /// The diff's SELECT and where the model's text first starts in it: the model rows LEFT JOINed
  /// with their entries (a NULL key joins none), then the entries whose key left the model, then
  /// one row (rank 0) with the snapshot's count, sorted as `WarehouseDiffStream` says. Its columns:
  /// rank, key, fingerprint, entry key, entry fingerprint, match value, then `columns`. Unlike a
  /// FULL JOIN, which PostgreSQL before 16 runs in one process, both halves run in parallel
  /// workers. With `repeats`, every row of a repeated key is kept too.
  public static func select(
    _ model: ModelSQL, key: String, repeats: Bool, columns: [String], signature: String, snapshot: WarehouseSnapshot
  ) -> (sql: String, modelOffset: Int) {
    let keys = keys(model, key: key).sql
    let fingerprint =
      "md5(\(literal(signature)) || E'\\n' || ROW(\(columns.map(PostgresConnection.quoteIdentifier).joined(separator: ", ")))::text)"
    let (modelRows, modelOffset) = model.wrapped(
      select: ([keyText(key) + " AS \"backflow key\"", fingerprint + " AS \"backflow fingerprint\""]
        + columns.map(PostgresConnection.quoteIdentifier)).joined(separator: ", "))
    let values = columns.map { ", m." + PostgresConnection.quoteIdentifier($0) }.joined()
    let nulls = String(repeating: ", NULL", count: columns.count)
    let prefix = """
      SELECT * FROM (
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
        LEFT JOIN (\(snapshot.entries)) AS s ON s.row_key = m."backflow key"\(repeated)
        WHERE s.row_key IS NULL OR m."backflow fingerprint" <> s.fingerprint\
        \(repeats ? " OR repeated.\"backflow key\" IS NOT NULL" : "")
        UNION ALL
        SELECT 1, NULL, NULL, s.row_key, s.fingerprint, s.match_value\(nulls)
        FROM (\(snapshot.entries)) AS s
        WHERE NOT EXISTS (SELECT FROM (\(keys)
        ) AS m WHERE m."backflow key" = s.row_key)
        UNION ALL
        SELECT 0, (\(snapshot.count))::text, NULL, NULL, NULL, NULL\(nulls)
        ) AS diff
        ORDER BY "backflow rank", coalesce("backflow key", "backflow entry key") COLLATE "C" NULLS FIRST,
          "backflow fingerprint" COLLATE "C"
        """
    return (sql, prefix.count + modelOffset)
  }

  /// The diff against the sync's typed copy (`WarehouseCopy`), with the columns and order of
  /// `select`: the model LEFT JOINed with the copy on the key in its own type, keeping the rows
  /// whose key is NULL, new, repeated, whose copy lacks values, or whose values differ from the
  /// copy's in their binary image (`record *= record`, which tells 1.0 from 1.00 and -0 from 0, as their text
  /// does), then the copy's keys that left the model. Only those rows are fingerprinted and
  /// looked up in the snapshot, one by one.
  public static func copySelect(
    _ model: ModelSQL, key: String, repeats: Bool, columns: [String], signature: String, snapshot: WarehouseSnapshot,
    copy: WarehouseCopy
  ) -> (sql: String, modelOffset: Int) {
    let quoted = columns.map(PostgresConnection.quoteIdentifier)
    let typedKey = copy.textKey ? keyText(key) : "(\(PostgresConnection.quoteIdentifier(key)))"
    let (modelRows, modelOffset) = model.wrapped(
      select: ([keyText(key) + " AS \"backflow key\"", typedKey + " AS \"backflow typed key\""] + quoted)
        .joined(separator: ", "))
    let (typedKeys, _) = model.wrapped(select: typedKey + " AS \"backflow typed key\"")
    let values = quoted.map { ", d." + $0 }.joined()
    let fingerprint =
      "md5(\(literal(signature)) || E'\\n' || ROW(\(quoted.map { "d." + $0 }.joined(separator: ", ")))::text)"
    let image =
      "ROW(\(quoted.map { "m." + $0 }.joined(separator: ", ")))::record *= "
      + "ROW(\(columns.indices.map { "c." + TypedCopyColumns.name($0) }.joined(separator: ", ")))::record"
    let nulls = String(repeating: ", NULL", count: columns.count)
    let prefix = """
      SELECT * FROM (
      SELECT 1 AS "backflow rank", d."backflow key", \(fingerprint) AS "backflow fingerprint",
        s.row_key AS "backflow entry key", s.fingerprint AS "backflow entry fingerprint", s.match_value AS "backflow match"\(values)
      FROM (SELECT m.* FROM (

      """
    let repeated =
      repeats
      ? "\nLEFT JOIN (SELECT \"backflow key\" FROM (" + keys(model, key: key).sql
        + "\n) AS keys WHERE \"backflow key\" IS NOT NULL GROUP BY 1 HAVING count(*) > 1) AS repeated"
        + " ON repeated.\"backflow key\" = m.\"backflow key\""
      : ""
    let sql =
      prefix + modelRows + """

        ) AS m
        LEFT JOIN \(copy.table) AS c ON c."backflow key" = m."backflow typed key"\(repeated)
        WHERE c."backflow key" IS NULL OR NOT c."backflow known" OR NOT (\(image))\
        \(repeats ? " OR repeated.\"backflow key\" IS NOT NULL" : "")
        OFFSET 0) AS d
        LEFT JOIN LATERAL (SELECT * FROM (\(snapshot.entries)) AS e WHERE e.row_key = d."backflow key") AS s ON true
        UNION ALL
        SELECT 1, NULL, NULL, s.row_key, s.fingerprint, s.match_value\(nulls)
        FROM (SELECT c."backflow key" FROM \(copy.table) AS c
          WHERE NOT EXISTS (SELECT FROM (\(typedKeys)
          ) AS m WHERE m."backflow typed key" = c."backflow key") OFFSET 0) AS r
        JOIN LATERAL (SELECT * FROM (\(snapshot.entries)) AS e WHERE e.row_key = r."backflow key"::text) AS s ON true
        UNION ALL
        SELECT 0, (\(snapshot.count))::text, NULL, NULL, NULL, NULL\(nulls)
        ) AS diff
        ORDER BY "backflow rank", coalesce("backflow key", "backflow entry key") COLLATE "C" NULLS FIRST,
          "backflow fingerprint" COLLATE "C"
        """
    return (sql, prefix.count + modelOffset)
  }

  /// A SQL string literal.
  public static func literal(_ text: String) -> String {
    "'" + text.replacing("'", with: "''") + "'"
  }
}
