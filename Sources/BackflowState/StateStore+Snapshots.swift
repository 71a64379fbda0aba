import BackflowPostgres

extension StateStore {
  /// Rows per multi-row statement: under SQLite's and PostgreSQL's parameter limits.
  static let rowsPerStatement = 250

  /// A sync's snapshot in the order of its keys' UTF-8 bytes.
  public func snapshot(syncID: Int) throws -> SnapshotStream {
    guard exists else { return SnapshotStream(rows: nil) }
    let rows = try connection.stream(
      """
      SELECT row_key, fingerprint, match_value, \(keepsDestinationIDs ? "destination_id" : "NULL")
      FROM \(try table("snapshots")) WHERE sync_id = \(syncID) ORDER BY row_key
      """)
    return SnapshotStream(rows: rows)
  }

  /// The ids the destination's API gave the records of `keys` (compact JSON), by row key; keys
  /// with none kept are absent.
  public func destinationIDs(syncID: Int, keys: [String]) throws -> [String: String] {
    guard keepsDestinationIDs else { return [:] }
    return try entries(syncID: syncID, keys: keys).compactMapValues(\.destinationID)
  }

  /// The entries of `keys` in a sync's snapshot, by row key; keys it does not hold are absent.
  public func entries(syncID: Int, keys: [String]) throws -> [String: SnapshotEntry] {
    guard exists, !keys.isEmpty else { return [:] }
    let snapshots = try table("snapshots")
    var found: [String: SnapshotEntry] = [:]
    for start in stride(from: 0, to: keys.count, by: Self.rowsPerStatement) {
      let chunk = keys[start..<min(start + Self.rowsPerStatement, keys.count)]
      let placeholders = (0..<chunk.count).map { "$\($0 + 2)" }.joined(separator: ", ")
      let rows = try connection.query(
        """
        SELECT row_key, fingerprint, match_value, \(keepsDestinationIDs ? "destination_id" : "NULL")
        FROM \(snapshots) WHERE sync_id = $1 AND row_key IN (\(placeholders))
        """, [String(syncID)] + chunk.map { $0 })
      for row in rows {
        guard let key = row[0], let fingerprint = row[1] else { continue }
        found[key] = SnapshotEntry(key: key, fingerprint: fingerprint, matchValue: row[2], destinationID: row[3])
      }
    }
    return found
  }

  /// Adds `snapshots.destination_id` to a store made before ids were kept; the rows it holds
  /// keep none until their records are sent again.
  func ensureDestinationIDColumn() throws {
    guard try !destinationIDColumnExists() else { return }
    let database = try connection
    try database.execute("ALTER TABLE \(database.dialect.table("snapshots")) ADD COLUMN destination_id TEXT")
  }

  func destinationIDColumnExists() throws -> Bool {
    let database = try connection
    switch database.dialect {
    case .sqlite:
      return try !database.query(
        "SELECT 1 FROM pragma_table_info('snapshots') WHERE name = 'destination_id'", []).isEmpty
    case .postgres:
      return try !database.query(
        """
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = 'backflow_state' AND table_name = 'snapshots' AND column_name = 'destination_id'
        """, []).isEmpty
    }
  }

  /// How many rows a sync's snapshot holds.
  public func snapshotCount(syncID: Int) throws -> Int {
    guard exists else { return 0 }
    let rows = try connection.query(
      "SELECT count(*) FROM \(try table("snapshots")) WHERE sync_id = $1", [String(syncID)])
    return rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
  }

  /// Advances a snapshot: `entries` replace or add rows, `removedKeys` leave it; with `replacing`,
  /// every other row leaves it first. `newEntries` are rows the caller knows the snapshot does not
  /// hold (an added row, a snapshot cleared at the start of the run): PostgreSQL inserts them
  /// without `ON CONFLICT`, which costs about half as much, and falls back to it should one be
  /// there after all. One transaction: on PostgreSQL, a few statements whatever the count; on
  /// SQLite, a few statements per few hundred rows.
  ///
  /// With `copy`, the sync's typed copy changes in the same transaction (`writeTypedCopy`), its
  /// entries' `values` recorded; `refreshed` are unchanged rows whose values it lacked.
  public func updateSnapshot(
    syncID: Int, entries: [SnapshotEntry], removedKeys: [String], replacing: Bool = false,
    newEntries: [SnapshotEntry] = [], copy: TypedCopy? = nil, refreshed: [SnapshotEntry] = []
  ) throws {
    let snapshots = try table("snapshots")
    let id = String(syncID)
    try transaction {
      if let postgres = try connection as? PostgresConnection {
        let current = try copy.map { try !replacing && typedCopyIsCurrent(syncID: id, copy: $0, on: postgres) }
        if replacing { try connection.execute("DELETE FROM \(snapshots) WHERE sync_id = $1", [id]) }
        try Self.insertSnapshot(newEntries, syncID: id, into: snapshots, on: postgres)
        try Self.mergeSnapshot(entries: entries, removedKeys: removedKeys, syncID: id, into: snapshots, on: postgres)
        try advanceSnapshotVersion(syncID: id)
        if let copy, let current, !typedCopyFailures.contains(syncID) {
          // The copy serves planning only: should it fail, the snapshot is still recorded and the
          // copy left out of date.
          try postgres.execute("SAVEPOINT backflow_typed_copy")
          do {
            try writeTypedCopy(
              copy, current: current, syncID: id, entries: entries, newEntries: newEntries, removedKeys: removedKeys,
              refreshed: refreshed, on: postgres)
            try postgres.execute("RELEASE SAVEPOINT backflow_typed_copy")
          } catch let error as PostgresError where error.sqlState != nil {
            try postgres.execute("ROLLBACK TO SAVEPOINT backflow_typed_copy")
            typedCopyFailures.insert(syncID)
          }
        }
        try connection.execute("UPDATE \(try table("syncs")) SET serial = serial + 1 WHERE id = $1", [id])
        return
      }
      if replacing { try connection.execute("DELETE FROM \(snapshots) WHERE sync_id = $1", [id]) }
      let entries = newEntries + entries
      for start in stride(from: 0, to: entries.count, by: Self.rowsPerStatement) {
        let chunk = entries[start..<min(start + Self.rowsPerStatement, entries.count)]
        try connection.execute(
          """
          INSERT INTO \(snapshots) (sync_id, row_key, fingerprint, match_value, destination_id)
          VALUES \(Self.placeholders(rows: chunk.count, columns: 5))
          ON CONFLICT (sync_id, row_key) DO UPDATE SET \(Self.conflictUpdate)
          """, chunk.flatMap { [id, $0.key, $0.fingerprint, $0.matchValue, $0.destinationID] })
      }
      for start in stride(from: 0, to: removedKeys.count, by: Self.rowsPerStatement) {
        let chunk = removedKeys[start..<min(start + Self.rowsPerStatement, removedKeys.count)]
        let keys = (0..<chunk.count).map { "$\($0 + 2)" }.joined(separator: ", ")
        try connection.execute(
          "DELETE FROM \(snapshots) WHERE sync_id = $1 AND row_key IN (\(keys))", [id] + chunk.map { $0 })
      }
      try advanceSnapshotVersion(syncID: id)
      try connection.execute("UPDATE \(try table("syncs")) SET serial = serial + 1 WHERE id = $1", [id])
    }
  }

  /// Rows the snapshot should not hold yet, by a COPY straight into the table (at 1M rows, about
  /// two thirds of an INSERT from text arrays); in a savepoint, so that if one is there after all
  /// (a unique violation) the same rows go through `mergeSnapshot`'s INSERT … ON CONFLICT instead.
  private static func insertSnapshot(
    _ entries: [SnapshotEntry], syncID: String, into snapshots: String, on connection: PostgresConnection
  ) throws {
    guard !entries.isEmpty else { return }
    try connection.execute("SAVEPOINT backflow_new_entries")
    do {
      let copy = try connection.copyIn(
        "COPY \(snapshots) (sync_id, row_key, fingerprint, match_value, destination_id) FROM STDIN")
      var row: [String?] = [syncID, nil, nil, nil, nil]
      for entry in entries {
        row[1] = entry.key
        row[2] = entry.fingerprint
        row[3] = entry.matchValue
        row[4] = entry.destinationID
        try copy.write(row)
      }
      try copy.finish()
      try connection.execute("RELEASE SAVEPOINT backflow_new_entries")
    } catch let error as PostgresError where error.sqlState == "23505" {
      try connection.execute("ROLLBACK TO SAVEPOINT backflow_new_entries")
      try mergeSnapshot(entries: entries, removedKeys: [], syncID: syncID, into: snapshots, on: connection)
    }
  }

  /// The snapshot's changes as three text arrays, merged into `snapshots` by one
  /// INSERT … ON CONFLICT, and the removed keys as one array, deleted by one DELETE: two
  /// statements whatever the count, and no temporary table (which every commit would truncate).
  /// A key listed twice keeps its last entry, as a run of one statement per entry would.
  private static func mergeSnapshot(
    entries: [SnapshotEntry], removedKeys: [String], syncID: String, into snapshots: String,
    on connection: PostgresConnection
  ) throws {
    if !entries.isEmpty {
      // A run's entries come in key order, so they rarely need the sort that finds repeats.
      let unique = zip(entries, entries.dropFirst()).allSatisfy { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      let rows =
        unique
        ? "SELECT $1::bigint, k, f, m, d FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(k, f, m, d)"
        : "SELECT DISTINCT ON (k) $1::bigint, k, f, m, d\n"
          + "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(k, f, m, d, o) "
          + "ORDER BY k, o DESC"
      try connection.execute(
        """
        INSERT INTO \(snapshots) (sync_id, row_key, fingerprint, match_value, destination_id)
        \(rows)
        ON CONFLICT (sync_id, row_key) DO UPDATE SET \(conflictUpdate)
        """,
        [
          syncID, arrayLiteral(entries.lazy.map { $0.key as String? }), arrayLiteral(entries.lazy.map { $0.fingerprint as String? }),
          arrayLiteral(entries.lazy.map(\.matchValue)), arrayLiteral(entries.lazy.map(\.destinationID)),
        ])
    }
    if !removedKeys.isEmpty {
      try connection.execute(
        "DELETE FROM \(snapshots) WHERE sync_id = $1 AND row_key = ANY ($2::text[])",
        [syncID, arrayLiteral(removedKeys.lazy.map { $0 as String? })])
    }
  }

  /// What an entry for a key the snapshot holds replaces: everything but a kept id, which only
  /// a new id replaces.
  static let conflictUpdate =
    "fingerprint = excluded.fingerprint, match_value = excluded.match_value, "
    + "destination_id = COALESCE(excluded.destination_id, snapshots.destination_id)"

  /// A PostgreSQL array literal of text: `{"a","b \\"c\\"",NULL}`.
  static func arrayLiteral(_ values: some Sequence<String?>) -> String {
    var bytes: [UInt8] = [UInt8(ascii: "{")]
    for value in values {
      if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
      guard let value else {
        bytes.append(contentsOf: "NULL".utf8)
        continue
      }
      bytes.append(UInt8(ascii: "\""))
      for byte in value.utf8 {
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
        bytes.append(byte)
      }
      bytes.append(UInt8(ascii: "\""))
    }
    bytes.append(UInt8(ascii: "}"))
    return String(decoding: bytes, as: UTF8.self)
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
    return SnapshotEntry(key: key, fingerprint: fingerprint, matchValue: row[2], destinationID: row[3])
  }
}
