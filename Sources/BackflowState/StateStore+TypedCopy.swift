import BackflowPostgres

/// A sync's typed copy (`TypedCopy`) lives in `backflow_state.typed_copy_<sync id>` and is stamped
/// in `typed_copies` with its `TypedCopy.stamp` and the snapshot version it mirrors. It changes
/// only inside the transactions that change the snapshot, so a copy whose stamp names the
/// snapshot's current version holds exactly the snapshot's keys, each with the values its
/// fingerprint was taken over; any other snapshot write leaves the stamp behind, and a plan then
/// does not read the copy. A row whose values are not known (`backflow known` false) is one the
/// plan always fingerprints.
extension StateStore {
  /// The copy's table, as a connection to the store's PostgreSQL database names it.
  public static func typedCopyTable(syncID: Int) -> String { "backflow_state.typed_copy_\(syncID)" }

  /// The check a plan makes of `syncID`'s copy (`WarehouseCopy.check`): when it is stamped, one
  /// row saying whether the session may read the copy, whether its stamp is `stamp` at the
  /// snapshot's current version (0 for a snapshot never written, as `typedCopyIsCurrent` counts),
  /// and how many rows it holds when that is recorded (a store from before `rows` has no column).
  public static func typedCopyCheck(syncID: Int, stamp: String) -> String {
    """
    SELECT has_table_privilege('\(typedCopyTable(syncID: syncID))', 'SELECT'),
      t.version = coalesce(v.version, 0) AND t.stamp = \(literal(stamp)), to_jsonb(t) ->> 'rows'
    FROM backflow_state.typed_copies t LEFT JOIN backflow_state.snapshot_versions v USING (sync_id)
    WHERE t.sync_id = \(syncID)
    """
  }

  /// Makes `syncID`'s copy mirror its snapshot when its stamp does not: rebuilt with every
  /// snapshot key and no values known, so the next plan fingerprints those rows and the apply
  /// after it records their values. A no-op on a store without a copy (SQLite).
  public func prepareTypedCopy(syncID: Int, copy: TypedCopy) throws {
    guard let postgres = try connection as? PostgresConnection else { return }
    typedCopyFailures.remove(syncID)
    try transaction {
      let id = String(syncID)
      guard try !typedCopyIsCurrent(syncID: id, copy: copy, on: postgres) else { return }
      let rows = try rebuildTypedCopy(syncID: id, copy: copy, on: postgres)
      try stampTypedCopy(syncID: id, copy: copy, rows: rows, on: postgres)
    }
  }

  /// Whether the copy is stamped `copy.stamp` at the snapshot's version; locks the stamp.
  func typedCopyIsCurrent(syncID: String, copy: TypedCopy, on connection: PostgresConnection) throws -> Bool {
    let rows = try connection.query(
      """
      SELECT t.stamp = $2 AND t.version = coalesce(v.version, 0)
        AND to_regclass('\(Self.typedCopyTable(syncID: Int(syncID) ?? 0))') IS NOT NULL
      FROM backflow_state.typed_copies t LEFT JOIN backflow_state.snapshot_versions v USING (sync_id)
      WHERE t.sync_id = $1 FOR UPDATE OF t
      """, [syncID, copy.stamp])
    return rows.first?.first == "t"
  }

  /// The copy's changes in the transaction that made `entries`, `newEntries` and `removedKeys` the
  /// snapshot's, after they were written. `refreshed` are unchanged rows whose values the copy did
  /// not know; each is recorded only while its snapshot entry still has the fingerprint planned.
  ///
  /// The stamp records how many rows the copy holds, counted from what each statement added or
  /// removed, so that a plan need not count them (at 1M rows, a fifth of a no-op plan); a copy
  /// rebuilt, or stamped before the count was kept, is counted whole once.
  func writeTypedCopy(
    _ copy: TypedCopy, current: Bool, syncID: String, entries: [SnapshotEntry], newEntries: [SnapshotEntry],
    removedKeys: [String], refreshed: [SnapshotEntry], on connection: PostgresConnection
  ) throws {
    let table = Self.typedCopyTable(syncID: Int(syncID) ?? 0)
    var rows: Int?
    if current {
      rows = try Self.integer("SELECT rows FROM backflow_state.typed_copies WHERE sync_id = $1", [syncID], on: connection)
      let inserted = try insertTypedCopy(newEntries, copy: copy, into: table, on: connection)
      var removed = 0
      if !removedKeys.isEmpty {
        removed = try connection.affectedRows(
          "DELETE FROM \(table) WHERE \"backflow key\" = ANY ($1::text[]::\(Self.bareType(copy.keyType))[])",
          [Self.arrayLiteral(removedKeys.lazy.map { $0 as String? })])
      }
      rows = rows.map { $0 + inserted - removed }
    } else {
      rows = try rebuildTypedCopy(syncID: syncID, copy: copy, on: connection)
    }
    let merged = try mergeTypedCopy(current ? entries : newEntries + entries, copy: copy, into: table, on: connection)
    let refilled = try mergeTypedCopy(refreshed, copy: copy, into: table, checking: syncID, on: connection)
    let counted =
      try rows.map { $0 + merged + refilled } ?? Self.integer("SELECT count(*) FROM \(table)", on: connection) ?? 0
    try stampTypedCopy(syncID: syncID, copy: copy, rows: counted, on: connection)
  }

  /// Drops the copy and makes it again with the snapshot's keys, no values known; the rows whose
  /// values are not known are indexed, so a plan tells at once whether there are any. Returns
  /// how many rows it holds.
  private func rebuildTypedCopy(syncID: String, copy: TypedCopy, on connection: PostgresConnection) throws -> Int {
    let copyTable = Self.typedCopyTable(syncID: Int(syncID) ?? 0)
    let columns = copy.types.enumerated().map { ", \(TypedCopy.column($0.offset)) \($0.element)" }.joined()
    try connection.execute(
      """
      DROP TABLE IF EXISTS \(copyTable);
      CREATE TABLE \(copyTable) ("backflow key" \(copy.keyType) PRIMARY KEY\(columns), "backflow known" boolean NOT NULL);
      CREATE INDEX ON \(copyTable) ("backflow key") WHERE NOT "backflow known"
      """)
    return try connection.affectedRows(
      """
      INSERT INTO \(copyTable) ("backflow key", "backflow known")
      SELECT row_key::\(Self.bareType(copy.keyType)), false FROM \(try table("snapshots")) WHERE sync_id = $1::bigint
      """, [syncID])
  }

  private func stampTypedCopy(syncID: String, copy: TypedCopy, rows: Int, on connection: PostgresConnection) throws {
    try connection.execute(
      """
      INSERT INTO backflow_state.typed_copies (sync_id, version, stamp, rows)
      SELECT $1::bigint, coalesce((SELECT version FROM backflow_state.snapshot_versions WHERE sync_id = $1::bigint), 0), $2, $3::bigint
      ON CONFLICT (sync_id) DO UPDATE SET version = excluded.version, stamp = excluded.stamp, rows = excluded.rows
      """, [syncID, copy.stamp, String(rows)])
  }

  /// The first value of the first row `sql` returns, as a whole number; `nil` for none or NULL.
  private static func integer(_ sql: String, _ parameters: [String?] = [], on connection: PostgresConnection) throws
    -> Int?
  {
    try connection.query(sql, parameters).first?.first.flatMap { $0.flatMap { Int($0) } }
  }

  /// How many rows of `keys` the copy holds.
  private static func held(_ keys: [String], copy: TypedCopy, in table: String, on connection: PostgresConnection) throws
    -> Int
  {
    try integer(
      "SELECT count(*) FROM \(table) WHERE \"backflow key\" = ANY ($1::text[]::\(bareType(copy.keyType))[])",
      [arrayLiteral(keys.lazy.map { $0 as String? })], on: connection) ?? 0
  }

  /// Rows the copy does not hold, by a COPY that parses each value with its type's input
  /// function; in a savepoint, so that a key there after all sends the rows through the merge.
  /// Returns how many rows the copy gained.
  private func insertTypedCopy(
    _ entries: [SnapshotEntry], copy: TypedCopy, into table: String, on connection: PostgresConnection
  ) throws -> Int {
    guard !entries.isEmpty else { return 0 }
    try connection.execute("SAVEPOINT backflow_new_copy")
    do {
      let columns = copy.types.indices.map { ", " + TypedCopy.column($0) }.joined()
      let stream = try connection.copyIn("COPY \(table) (\"backflow key\"\(columns), \"backflow known\") FROM STDIN")
      var row = [String?](repeating: nil, count: copy.types.count + 2)
      row[copy.types.count + 1] = "t"
      for entry in entries {
        row[0] = entry.key
        for index in copy.types.indices { row[index + 1] = entry.values?[index] }
        try stream.write(row)
      }
      try stream.finish()
      try connection.execute("RELEASE SAVEPOINT backflow_new_copy")
      return entries.count
    } catch let error as PostgresError where error.sqlState == "23505" {
      try connection.execute("ROLLBACK TO SAVEPOINT backflow_new_copy")
      return try mergeTypedCopy(entries, copy: copy, into: table, on: connection)
    }
  }

  /// Entries' values as text arrays, cast to the copy's types and merged by key (the last of a
  /// key listed twice wins). With `checking`, only where the snapshot entry of the key has the
  /// entry's fingerprint. Returns how many rows the copy gained.
  ///
  /// Without `checking`, the keys the copy holds (every one, for a run's changed rows) are
  /// updated first: when that was all of them the copy gained none, and otherwise it gains
  /// exactly the rest, inserted by the upsert; either way without counting the copy's keys.
  private func mergeTypedCopy(
    _ entries: [SnapshotEntry], copy: TypedCopy, into copyTable: String, checking syncID: String? = nil,
    on connection: PostgresConnection
  ) throws -> Int {
    guard !entries.isEmpty else { return 0 }
    let count = copy.types.count
    let arrays = (0..<count).map { "$\($0 + 3)::text[]" }.joined(separator: ", ")
    let names = (0..<count).map { ", v\($0)" }.joined()
    let casts = copy.types.enumerated().map { ", u.v\($0.offset)::\(Self.bareType($0.element)) AS v\($0.offset)" }.joined()
    let snapshots = try table("snapshots")
    let check = syncID.map { "JOIN \(snapshots) s ON s.sync_id = \($0) AND s.row_key = u.k AND s.fingerprint = u.f" } ?? ""
    let rows = """
      SELECT DISTINCT ON (u.k) u.k::\(Self.bareType(copy.keyType)) AS k\(casts), true AS known
      FROM unnest($1::text[], $2::text[]\(arrays.isEmpty ? "" : ", " + arrays)) WITH ORDINALITY AS u(k, f\(names), o)
      \(check)
      ORDER BY u.k, u.o DESC
      """
    var parameters: [String?] = [
      Self.arrayLiteral(entries.lazy.map { $0.key as String? }),
      Self.arrayLiteral(entries.lazy.map { $0.fingerprint as String? }),
    ]
    for index in 0..<count { parameters.append(Self.arrayLiteral(entries.lazy.map { $0.values?[index] })) }
    let keys = entries.map(\.key)
    let upsert = {
      let updates = (0..<count).map { "\(TypedCopy.column($0)) = excluded.\(TypedCopy.column($0)), " }.joined()
      try connection.execute(
        "INSERT INTO \(copyTable)\n\(rows)\nON CONFLICT (\"backflow key\") DO UPDATE SET \(updates)\"backflow known\" = true",
        parameters)
    }
    guard syncID == nil else {
      let before = try Self.held(keys, copy: copy, in: copyTable, on: connection)
      try upsert()
      return try Self.held(keys, copy: copy, in: copyTable, on: connection) - before
    }
    let sets = (0..<count).map { "\(TypedCopy.column($0)) = r.v\($0), " }.joined()
    let updated = try connection.affectedRows(
      "UPDATE \(copyTable) AS c SET \(sets)\"backflow known\" = true FROM (\(rows)) AS r WHERE c.\"backflow key\" = r.k",
      parameters)
    let distinct = Set(keys).count
    guard updated < distinct else { return 0 }
    try upsert()
    return distinct - updated
  }

  /// Makes `typed_copies`, or adds `rows` to one made before it was kept (NULL: not counted yet).
  /// Part of the migration a writer runs when it opens the store, under its advisory lock: made
  /// inside a run's transaction instead, two daemons starting together could both try, and the
  /// one that failed (a unique violation in the catalog) would abort its run's transaction.
  func ensureTypedCopiesTable() throws {
    guard let connection = try connection as? PostgresConnection else { return }
    let found = try connection.query(
      """
      SELECT to_regclass('backflow_state.typed_copies') IS NOT NULL, EXISTS (SELECT FROM pg_attribute
        WHERE attrelid = to_regclass('backflow_state.typed_copies') AND attname = 'rows' AND NOT attisdropped)
      """, []
    ).first
    if found?.first != "t" {
      try connection.execute(
        """
        CREATE TABLE backflow_state.typed_copies
          (sync_id BIGINT PRIMARY KEY, version BIGINT NOT NULL, stamp TEXT NOT NULL, rows BIGINT)
        """)
    } else if found?.last != "t" {
      try connection.execute("ALTER TABLE backflow_state.typed_copies ADD COLUMN rows BIGINT")
    }
  }

  /// Drops a retired sync's copy and its stamp.
  func dropTypedCopy(syncID: Int) throws {
    guard try connection is PostgresConnection, try tableExists("typed_copies") else { return }
    try connection.execute("DROP TABLE IF EXISTS \(Self.typedCopyTable(syncID: syncID))")
    try connection.execute("DELETE FROM backflow_state.typed_copies WHERE sync_id = $1", [String(syncID)])
  }

  /// The type without its collation, for casts.
  static func bareType(_ type: String) -> String {
    type.components(separatedBy: " COLLATE ").first ?? type
  }

  static func literal(_ text: String) -> String { "'" + text.replacing("'", with: "''") + "'" }
}
