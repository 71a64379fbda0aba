import BackflowPostgres

extension StateStore {
  /// Rows per multi-row statement: under SQLite's and PostgreSQL's parameter limits.
  static let rowsPerStatement = 250

  /// A sync's snapshot in the order of its keys' UTF-8 bytes.
  public func snapshot(syncID: Int) throws -> SnapshotStream {
    guard exists else { return SnapshotStream(rows: nil) }
    let rows = try connection.stream(
      "SELECT row_key, fingerprint, match_value FROM \(try table("snapshots")) WHERE sync_id = \(syncID) ORDER BY row_key")
    return SnapshotStream(rows: rows)
  }

  /// How many rows a sync's snapshot holds.
  public func snapshotCount(syncID: Int) throws -> Int {
    guard exists else { return 0 }
    let rows = try connection.query(
      "SELECT count(*) FROM \(try table("snapshots")) WHERE sync_id = $1", [String(syncID)])
    return rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
  }

  /// Advances a snapshot: `entries` replace or add rows, `removedKeys` leave it; with `replacing`,
  /// every other row leaves it first. One transaction: on PostgreSQL, one COPY and two merging
  /// statements whatever the count; on SQLite, a few statements per few hundred rows.
  public func updateSnapshot(
    syncID: Int, entries: [SnapshotEntry], removedKeys: [String], replacing: Bool = false
  ) throws {
    let snapshots = try table("snapshots")
    let id = String(syncID)
    try transaction {
      if replacing { try connection.execute("DELETE FROM \(snapshots) WHERE sync_id = $1", [id]) }
      if let postgres = try connection as? PostgresConnection {
        try Self.copySnapshot(entries: entries, removedKeys: removedKeys, syncID: id, into: snapshots, on: postgres)
        try connection.execute("UPDATE \(try table("syncs")) SET serial = serial + 1 WHERE id = $1", [id])
        return
      }
      for start in stride(from: 0, to: entries.count, by: Self.rowsPerStatement) {
        let chunk = entries[start..<min(start + Self.rowsPerStatement, entries.count)]
        try connection.execute(
          """
          INSERT INTO \(snapshots) (sync_id, row_key, fingerprint, match_value) VALUES \(Self.placeholders(rows: chunk.count, columns: 4))
          ON CONFLICT (sync_id, row_key) DO UPDATE SET fingerprint = excluded.fingerprint, match_value = excluded.match_value
          """, chunk.flatMap { [id, $0.key, $0.fingerprint, $0.matchValue] })
      }
      for start in stride(from: 0, to: removedKeys.count, by: Self.rowsPerStatement) {
        let chunk = removedKeys[start..<min(start + Self.rowsPerStatement, removedKeys.count)]
        let keys = (0..<chunk.count).map { "$\($0 + 2)" }.joined(separator: ", ")
        try connection.execute(
          "DELETE FROM \(snapshots) WHERE sync_id = $1 AND row_key IN (\(keys))", [id] + chunk.map { $0 })
      }
      try connection.execute("UPDATE \(try table("syncs")) SET serial = serial + 1 WHERE id = $1", [id])
    }
  }

  /// The snapshot's changes copied into a temporary table (a removed key has no fingerprint),
  /// then merged into `snapshots` by one INSERT … ON CONFLICT and one DELETE. A key listed twice
  /// keeps its last entry, as a run of one statement per entry would.
  private static func copySnapshot(
    entries: [SnapshotEntry], removedKeys: [String], syncID: String, into snapshots: String,
    on connection: PostgresConnection
  ) throws {
    guard !entries.isEmpty || !removedKeys.isEmpty else { return }
    // Emptied at each commit and dropped with the connection; IF NOT EXISTS, since a rolled-back
    // transaction takes a table it created with it. Notices are silenced on every connection.
    try connection.execute(
      """
      CREATE TEMP TABLE IF NOT EXISTS backflow_snapshot_batch (
        ordinal integer, row_key text COLLATE "C", fingerprint text, match_value text
      ) ON COMMIT DELETE ROWS
      """)
    let copy = try connection.copyIn("COPY pg_temp.backflow_snapshot_batch FROM STDIN")
    var ordinal = 0
    for entry in entries {
      try copy.write([String(ordinal), entry.key, entry.fingerprint, entry.matchValue])
      ordinal += 1
    }
    for key in removedKeys {
      try copy.write([String(ordinal), key, nil, nil])
      ordinal += 1
    }
    try copy.finish()
    if !entries.isEmpty {
      try connection.execute(
        """
        INSERT INTO \(snapshots) (sync_id, row_key, fingerprint, match_value)
        SELECT DISTINCT ON (row_key) $1::bigint, row_key, fingerprint, match_value
        FROM pg_temp.backflow_snapshot_batch WHERE fingerprint IS NOT NULL ORDER BY row_key, ordinal DESC
        ON CONFLICT (sync_id, row_key) DO UPDATE SET fingerprint = excluded.fingerprint, match_value = excluded.match_value
        """, [syncID])
    }
    if !removedKeys.isEmpty {
      try connection.execute(
        """
        DELETE FROM \(snapshots) AS s USING pg_temp.backflow_snapshot_batch AS b
        WHERE s.sync_id = $1 AND s.row_key = b.row_key AND b.fingerprint IS NULL
        """, [syncID])
    }
  }

  /// `($1, $2), ($3, $4)` for a multi-row VALUES list.
  static func placeholders(rows: Int, columns: Int) -> String {
    (0..<rows).map { row in
      "(" + (1...columns).map { "$\(row * columns + $0)" }.joined(separator: ", ") + ")"
    }.joined(separator: ", ")
  }
}

/// A snapshot read one entry at a time.
public final class SnapshotStream {
  private let rows: (any RowStream)?

  init(rows: (any RowStream)?) {
    self.rows = rows
  }

  public func next() throws -> SnapshotEntry? {
    guard let row = try rows?.next() else { return nil }
    guard let key = row[0], let fingerprint = row[1] else {
      throw StateError("the state store holds a snapshot row without a key or fingerprint")
    }
    return SnapshotEntry(key: key, fingerprint: fingerprint, matchValue: row[2])
  }
}
