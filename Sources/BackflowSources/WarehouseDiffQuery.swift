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
    let repeated = repeats ? repeatedJoin(model, key: key) : ""
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
  /// `select`: the model FULL JOINed with the copy on the key in its own type, keeping the rows
  /// whose key is NULL, new, repeated or gone from the model, whose copy lacks values, or whose
  /// values differ from the copy's (`identical`). Only those rows are fingerprinted and looked up
  /// in the snapshot: with `fewRows`, one index look-up each (PostgreSQL cannot know how few the
  /// comparison leaves, and would otherwise sort or hash the whole snapshot for them). The count
  /// row counts the copy, which holds the snapshot's keys.
  ///
  /// `rows` is the copy's count as its stamp records it, if it does; otherwise the copy is counted.
  /// `part` keeps one range of keys (`KeyRangePart`); the part with the lowest keys has the count
  /// row, of the whole copy.
  public static func copySelect(
    _ model: ModelSQL, key: String, repeats: Bool, columns: [String], signature: String, snapshot: WarehouseSnapshot,
    copy: WarehouseCopy, fewRows: Bool, rows: Int?, part: KeyRangePart = .all
  ) -> (sql: String, modelOffset: Int) {
    let quoted = columns.map(PostgresConnection.quoteIdentifier)
    let typedKey = copy.textKey ? keyText(key) : "(\(PostgresConnection.quoteIdentifier(key)))"
    let (modelRows, modelOffset) = model.wrapped(
      select: (["true AS \"backflow model\"", keyText(key) + " AS \"backflow key\"", typedKey + " AS \"backflow typed key\""]
        + quoted).joined(separator: ", "),
      rest: part.condition(on: "(\(PostgresConnection.quoteIdentifier(key)))", nulls: true).map { "\nWHERE " + $0 } ?? "")
    let copyRows =
      part.condition(on: "\"backflow key\"", nulls: false).map { "(SELECT * FROM \(copy.table) WHERE \($0))" } ?? copy.table
    let values = quoted.map { ", d." + $0 }.joined()
    let fingerprint =
      "md5(\(literal(signature)) || E'\\n' || ROW(\(quoted.map { "d." + $0 }.joined(separator: ", ")))::text)"
    let nulls = String(repeating: ", NULL", count: columns.count)
    let prefix = """
      SELECT * FROM (
      SELECT 1 AS "backflow rank", d."backflow key", CASE WHEN d."backflow model" THEN \(fingerprint) END AS "backflow fingerprint",
        s.row_key AS "backflow entry key", s.fingerprint AS "backflow entry fingerprint", s.match_value AS "backflow match"\(values)
      FROM (SELECT m.*, c."backflow key" AS "backflow copy key" FROM (

      """
    let repeated = repeats ? repeatedJoin(model, key: key) : ""
    let sql =
      prefix + modelRows + """

        ) AS m
        FULL JOIN \(copyRows) AS c ON c."backflow key" = m."backflow typed key"\(repeated)
        WHERE m."backflow model" IS NULL OR c."backflow key" IS NULL OR NOT c."backflow known"
          OR NOT (\(identical(quoted, types: copy.types)))\(repeats ? " OR repeated.\"backflow key\" IS NOT NULL" : "")
        OFFSET 0) AS d
        LEFT JOIN LATERAL (SELECT * FROM (\(snapshot.entries)) AS e
          WHERE e.row_key = coalesce(d."backflow key", d."backflow copy key"::text)\(fewRows ? " OFFSET 0" : "")) AS s ON true\(
          part.countsCopy ? "\nUNION ALL\nSELECT 0, \(rows.map { "'\($0)'" } ?? "(SELECT count(*) FROM \(copy.table))::text"), NULL, NULL, NULL, NULL\(nulls)" : "")
        ) AS diff
        ORDER BY "backflow rank", coalesce("backflow key", "backflow entry key") COLLATE "C" NULLS FIRST,
          "backflow fingerprint" COLLATE "C"
        """
    return (sql, prefix.count + modelOffset)
  }

  /// Which keys one part of a diff split by its key's range reads: the diff's parts run on
  /// connections of their own, at the same time, and their rows are merged in the diff's order.
  public enum KeyRangePart: Sendable, Equatable {
    case all
    /// The keys up to `bound` (a literal of the key's type), with the count row.
    case upTo(String)
    /// The keys past `bound`, and the rows without a key.
    case past(String)

    var countsCopy: Bool {
      if case .past = self { false } else { true }
    }

    /// The condition on `key` (SQL) that keeps this part's rows; with `nulls`, a NULL key is
    /// kept by the last part.
    func condition(on key: String, nulls: Bool) -> String? {
      switch self {
      case .all: nil
      case .upTo(let bound): "\(key) <= \(bound)"
      case .past(let bound): "\(key) > \(bound)" + (nulls ? " OR \(key) IS NULL" : "")
      }
    }
  }

  /// Joins the model rows `m` with the keys that repeat among them, as `repeated`.
  static func repeatedJoin(_ model: ModelSQL, key: String) -> String {
    "\nLEFT JOIN (SELECT \"backflow key\" FROM (" + keys(model, key: key).sql
      + "\n) AS keys WHERE \"backflow key\" IS NOT NULL GROUP BY 1 HAVING count(*) > 1) AS repeated"
      + " ON repeated.\"backflow key\" = m.\"backflow key\""
  }

  /// Whether model row `m` holds exactly the values of copy row `c`: values whose text could
  /// differ while they compare equal are told apart as their text does. Types whose `=` is
  /// identity compare with it (text by its bytes); numeric also by its scale (1.0 against 1.00);
  /// the rest (floats' -0 and 0, intervals, jsonb, …) by their binary images (`record *=`).
  static func identical(_ columns: [String], types: [String]) -> String {
    var tests: [String] = []
    var images: [(model: String, copy: String)] = []
    for (index, (column, type)) in zip(columns, types).enumerated() {
      let (model, copy) = ("m." + column, "c." + TypedCopyColumns.name(index))
      switch type {
      case "boolean", "smallint", "integer", "bigint", "date", "time", "timestamp", "timestamptz", "uuid", "bytea":
        tests.append("\(model) IS NOT DISTINCT FROM \(copy)")
      case "text", "varchar":
        tests.append("\(model) COLLATE \"C\" IS NOT DISTINCT FROM \(copy) COLLATE \"C\"")
      case "numeric":
        tests.append("(\(model) IS NOT DISTINCT FROM \(copy) AND scale(\(model)) IS NOT DISTINCT FROM scale(\(copy)))")
      default:
        images.append((model, copy))
      }
    }
    if !images.isEmpty {
      tests.append(
        "ROW(\(images.map(\.model).joined(separator: ", ")))::record *= ROW(\(images.map(\.copy).joined(separator: ", ")))::record")
    }
    return tests.isEmpty ? "true" : tests.joined(separator: " AND ")
  }

  /// A SQL string literal.
  public static func literal(_ text: String) -> String {
    "'" + text.replacing("'", with: "''") + "'"
  }
}
