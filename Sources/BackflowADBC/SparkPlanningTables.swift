import BackflowConfig
import BackflowSources

/// The copies of warehouse planning in a Spark schema. Spark (through `adbc_driver_spark`) has no
/// transactions and its Parquet tables take no UPDATE or DELETE, so each version of a sync's copy
/// is a complete table `snapshot_s{sync}_r{run}` (row_key, fingerprint), and the sync's current
/// version is the view `snapshot_s{sync}` over it, whose properties stamp it with the state
/// store's lineage and version: the rows and their stamp change in one statement. The
/// fingerprints are Spark's own (`fingerprint`), compared only with each other. See
/// docs/decisions.md ("Warehouse planning on Spark").
public struct SparkPlanningTables: Sendable {
  public let schema: String
  private static let dialect = ADBCDialect.spark

  public init(schema: String) {
    self.schema = schema
  }

  /// `table` in the schema, quoted.
  public func name(_ table: String) -> String {
    Self.dialect.quoteIdentifier(schema) + "." + Self.dialect.quoteIdentifier(table)
  }

  /// The view of a sync's current version.
  public func current(syncID: Int) -> String { "snapshot_s\(syncID)" }

  /// The table of the version a run writes; only a complete one gets this name.
  public func version(syncID: Int, runID: Int) -> String { "snapshot_s\(syncID)_r\(runID)" }

  /// Spark's fingerprint of a model row: `to_json` leaves NULL fields out, so NULL, `''` and
  /// `'NULL'` differ, and the field names keep the columns apart. It never equals `''`, the
  /// fingerprint of an entry whose values are unknown.
  public static func fingerprint(columns: [String], signature: String) -> String {
    let fields = [dialect.literal("s"), dialect.literal(signature)]
      + columns.enumerated().flatMap { [dialect.literal("c\($0.offset)"), dialect.quoteIdentifier($0.element)] }
    return "md5(to_json(named_struct(\(fields.joined(separator: ", ")))))"
  }

  /// The statement that creates the schema where missing.
  public var creation: String { "CREATE DATABASE IF NOT EXISTS \(Self.dialect.quoteIdentifier(schema))" }

  /// How the diff reads a sync's current version; Spark knows no match values (the state store
  /// does).
  public func snapshot(syncID: Int) -> WarehouseSnapshot {
    let view = name(current(syncID: syncID))
    return WarehouseSnapshot(
      entries: "SELECT row_key, fingerprint, CAST(NULL AS STRING) AS match_value FROM \(view)",
      count: "SELECT count(*) FROM \(view)")
  }

  /// The stamp of a sync's current version; `nil` when its view, or the table under it, is missing.
  public func version(syncID: Int, on connection: ADBCConnection) throws -> WarehouseSnapshotVersion? {
    let view = current(syncID: syncID)
    guard try tables(like: view, on: connection).contains(view) else { return nil }
    var properties: [String: String] = [:]
    for row in try connection.textRows("SHOW TBLPROPERTIES \(name(view))") where row.count > 1 {
      if let key = row[0], let value = row[1] { properties[key] = value }
    }
    guard let lineage = properties["backflow.lineage"], let version = properties["backflow.version"].flatMap({ Int($0) }),
      let table = properties["backflow.table"], try tables(like: table, on: connection).contains(table)
    else { return nil }
    return WarehouseSnapshotVersion(lineage: lineage, version: version)
  }

  /// Makes the complete table `table` the sync's current version, stamped `version`, in one
  /// statement; then drops the sync's older versions.
  public func publish(_ table: String, syncID: Int, at version: WarehouseSnapshotVersion, on connection: ADBCConnection)
    throws
  {
    let literal = Self.dialect.literal
    try connection.execute(
      """
      CREATE OR REPLACE VIEW \(name(current(syncID: syncID)))
      TBLPROPERTIES ('backflow.lineage' = \(literal(version.lineage)), 'backflow.version' = '\(version.version)',
        'backflow.table' = \(literal(table)))
      AS SELECT row_key, fingerprint FROM \(name(table))
      """)
    for older in try tables(like: "snapshot_s\(syncID)_r*", on: connection) where older != table {
      try connection.execute("DROP TABLE IF EXISTS \(name(older))")
    }
  }

  /// The table where apply stages a sync's model as it plans it. Named by the sync's name, as a
  /// sync that has never run has no id yet; the sync's lock keeps two applies from sharing it.
  public func staging(syncName: String) -> String { "stage_" + MD5.hex(syncName).prefix(16) }

  /// The table of the keys a sync's run did not deliver, with whether the state store holds each.
  public func unsent(syncName: String) -> String { "unsent_" + MD5.hex(syncName).prefix(16) }

  /// The statements that materialise the model as apply plans it into `table`: the key's text,
  /// Spark's fingerprint of the `used` columns, the key and `columns`, so that the run's diff reads
  /// this table instead of the model and the new version is computed from the rows planned.
  public func stage(_ model: ModelSQL, key: String, columns: [String], used: [String], signature: String, into table: String)
    -> [String]
  {
    let dialect = Self.dialect
    let select = model.wrapped(
      select: ([
        dialect.text(dialect.quoteIdentifier(key)) + " AS `backflow key`",
        Self.fingerprint(columns: used, signature: signature) + " AS `backflow fingerprint`",
      ] + ([key] + columns.filter { $0 != key }).map(dialect.quoteIdentifier)).joined(separator: ", "))
    return [creation, "DROP TABLE IF EXISTS \(name(table))", "CREATE TABLE \(name(table)) USING parquet AS \(select.sql)"]
  }

  /// Writes run `runID`'s new version of the sync's copy from its staged model: each staged key
  /// with its fingerprint (`''` for a repeated key: which of its rows the state store holds is
  /// Backflow's to say), less the keys the run did not deliver, which get `''` where the state
  /// store holds them, so the next diff returns them and Backflow compares them. `unsent` is the
  /// table of those keys, `nil` when the run delivered every row.
  public func newVersion(syncID: Int, runID: Int, staged: String, unsent: String?) -> String {
    let rows = """
      SELECT s.`backflow key` AS row_key, IF(count(*) > 1, '', min(s.`backflow fingerprint`)) AS fingerprint
      FROM \(name(staged)) AS s
      """
    let version = "CREATE TABLE \(name(self.version(syncID: syncID, runID: runID))) USING parquet AS\n"
    guard let unsent else { return version + rows + "\nWHERE s.`backflow key` IS NOT NULL GROUP BY s.`backflow key`" }
    return version + rows + """

      LEFT ANTI JOIN \(name(unsent)) AS u ON u.row_key = s.`backflow key`
      WHERE s.`backflow key` IS NOT NULL GROUP BY s.`backflow key`
      UNION ALL
      SELECT row_key, '' FROM \(name(unsent)) WHERE held
      """
  }

  /// The rows of the staged model `table` (quoted) whose key is neither NULL nor repeated, as
  /// `row_id` and `fields`, the expression of their JSON.
  static func snapshotRows(ofStaged table: String, fields: String) -> String {
    """
    SELECT `backflow key` AS row_id, \(fields) AS fields FROM (
    SELECT *, count(*) OVER (PARTITION BY `backflow key`) AS `backflow rows` FROM \(table)
    ) AS staged WHERE `backflow key` IS NOT NULL AND `backflow rows` = 1
    """
  }

  /// The statement that creates the table of a run's unsent keys.
  public func unsentCreation(_ table: String) -> [String] {
    ["DROP TABLE IF EXISTS \(name(table))", "CREATE TABLE \(name(table)) (row_key STRING, held BOOLEAN) USING parquet"]
  }

  /// The diff's SELECT, in the columns and order of `WarehouseDiffQuery.select`: the model rows
  /// whose key is new, whose fingerprint differs from their entry's or whose key repeats, the
  /// entries whose key left the model, and one row (rank 0) with the version's count.
  public func diff(_ model: ModelSQL, key: String, columns: [String], used: [String], signature: String, syncID: Int)
    -> String
  {
    let dialect = Self.dialect
    let snapshot = snapshot(syncID: syncID)
    let keyText = dialect.text(dialect.quoteIdentifier(key)) + " AS `backflow key`"
    let keys = model.wrapped(select: keyText).sql
    let modelRows = model.wrapped(
      select: ([keyText, Self.fingerprint(columns: used, signature: signature) + " AS `backflow fingerprint`"]
        + columns.map(dialect.quoteIdentifier)).joined(separator: ", ")
    ).sql
    let values = columns.map { ", m." + dialect.quoteIdentifier($0) }.joined()
    let nulls = String(repeating: ", NULL", count: columns.count)
    return """
      SELECT * FROM (
      SELECT 1 AS `backflow rank`, m.`backflow key`, m.`backflow fingerprint`, s.row_key AS `backflow entry key`,
        s.fingerprint AS `backflow entry fingerprint`, s.match_value AS `backflow match`\(values)
      FROM (
      \(modelRows)
      ) AS m
      LEFT JOIN (\(snapshot.entries)) AS s ON s.row_key = m.`backflow key`
      LEFT JOIN (SELECT `backflow key` FROM (
      \(keys)
      ) AS keys WHERE `backflow key` IS NOT NULL GROUP BY 1 HAVING count(*) > 1) AS repeated
        ON repeated.`backflow key` = m.`backflow key`
      WHERE s.row_key IS NULL OR m.`backflow fingerprint` <> s.fingerprint OR repeated.`backflow key` IS NOT NULL
      UNION ALL
      SELECT 1, NULL, NULL, s.row_key, s.fingerprint, s.match_value\(nulls)
      FROM (\(snapshot.entries)) AS s
      LEFT ANTI JOIN (
      \(keys)
      ) AS m ON m.`backflow key` = s.row_key
      UNION ALL
      SELECT 0, CAST((\(snapshot.count)) AS STRING), NULL, NULL, NULL, NULL\(nulls)
      ) AS diff
      ORDER BY `backflow rank`, \(dialect.byteOrder("coalesce(`backflow key`, `backflow entry key`)")),
        `backflow fingerprint` ASC NULLS FIRST
      """
  }

  private func tables(like pattern: String, on connection: ADBCConnection) throws -> [String] {
    try connection.textRows("SHOW TABLES IN \(Self.dialect.quoteIdentifier(schema)) LIKE \(Self.dialect.literal(pattern))")
      .compactMap { $0.count > 1 ? $0[1] : nil }
  }
}
