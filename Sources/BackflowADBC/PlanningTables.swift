import BackflowSources

/// The tables of warehouse planning in a schema of a postgres-dialect ADBC source: `snapshots`
/// holds each sync's entries as the state store does, `snapshot_versions` which state store and
/// which version of its snapshot they are (docs/adbc.md).
public struct PlanningTables: Sendable {
  public let schema: String

  public init(schema: String) {
    self.schema = schema
  }

  private var quotedSchema: String { ADBCDialect.postgres.quoteIdentifier(schema) }
  public var snapshots: String { quotedSchema + ".snapshots" }
  public var versions: String { quotedSchema + ".snapshot_versions" }

  /// The statements that create the schema and tables where missing, one per call.
  public var creation: [String] {
    [
      "CREATE SCHEMA IF NOT EXISTS \(quotedSchema)",
      // COLLATE "C": the diff joins and sorts the keys by their bytes.
      """
      CREATE TABLE IF NOT EXISTS \(snapshots) (
        sync_id BIGINT NOT NULL, row_key TEXT COLLATE "C" NOT NULL, fingerprint TEXT NOT NULL, match_value TEXT,
        PRIMARY KEY (sync_id, row_key))
      """,
      "CREATE TABLE IF NOT EXISTS \(versions) (sync_id BIGINT PRIMARY KEY, lineage TEXT NOT NULL, version BIGINT NOT NULL)",
    ]
  }

  /// How the diff reads a sync's copy.
  public func snapshot(syncID: Int) -> WarehouseSnapshot {
    WarehouseSnapshot(
      entries: "SELECT row_key, fingerprint, match_value FROM \(snapshots) WHERE sync_id = \(syncID)",
      count: "SELECT count(*) FROM \(snapshots) WHERE sync_id = \(syncID)")
  }

  /// The version of a sync's copy; `nil` when either table is missing or the sync has no row.
  public func version(syncID: Int, on connection: ADBCConnection) throws -> WarehouseSnapshotVersion? {
    let literal = ADBCDialect.postgres.literal
    let exists = try connection.textRows(
      "SELECT to_regclass(\(literal(snapshots))) IS NOT NULL AND to_regclass(\(literal(versions))) IS NOT NULL")
    guard exists.first?.first == "t" else { return nil }
    let rows = try connection.textRows("SELECT lineage, version FROM \(versions) WHERE sync_id = \(syncID)")
    guard let row = rows.first, let lineage = row[0], let version = row[1].flatMap({ Int($0) }) else { return nil }
    return WarehouseSnapshotVersion(lineage: lineage, version: version)
  }
}

extension ADBCConnection {
  /// Every row of `sql`'s result, each value as text.
  public func textRows(_ sql: String) throws -> [[String?]] {
    let stream = try query(sql)
    var rows: [[String?]] = []
    while let values = try stream.next() { rows.append(values.map(\.text)) }
    return rows
  }
}
