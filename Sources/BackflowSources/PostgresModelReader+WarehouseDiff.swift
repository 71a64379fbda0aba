import BackflowConfig
import BackflowPostgres

/// The diff as one statement: the model's rows fingerprinted in the warehouse and joined with the
/// snapshot on the key's text, keeping only the rows that differ, then the entries whose key left
/// the model. See docs/decisions.md.
extension PostgresModelReader: WarehouseDiffing {
  public func reaches(_ mark: PostgresSessionMark, reading table: String?) throws -> Bool {
    guard try connection.sees(mark) else { return false }
    guard let table else { return true }
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
    // The settings hold for this transaction alone (SET LOCAL); the stream ends it. REPEATABLE READ
    // lets the search for repeated keys and the diff see the same rows; a standby allows it.
    do {
      try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; " + Self.diffSettings)
    } catch {
      try? connection.execute("ROLLBACK")
      throw SourceError("could not start the warehouse diff: \(error)")
    }
    // Keys that repeat must reach the planner with every one of their rows, since it picks the
    // row with the smallest fingerprint; a unique index on a table's key rules repeats out, and
    // so does finding none now, which is cheaper than joining the diff with the search.
    let repeats: Bool
    let search = WarehouseDiffQuery.repeatSearch(model, key: key)
    do {
      // With parameters (none), libpq refuses a second statement, as the COPY does.
      repeats = try !unique && connection.query(search.sql, []).first?.first == "t"
    } catch let error as PostgresError {
      try? connection.execute("ROLLBACK")
      throw sourceError(error, modelOffset: search.modelOffset, model: model)
    }
    let check = try snapshot.copy.map(typedCopyFinding)
    let finding = check?.finding
    let throughCopy = finding?.isCompared == true
    if throughCopy, unique {
      // Both sides have an index on the key: a merge join reads them in order and hashes
      // nothing (at 1M rows, about half the time of the hash join the planner prefers).
      try connection.execute("SET LOCAL enable_hashjoin = off")
    }
    var parts: [(connection: PostgresConnection, keys: WarehouseDiffQuery.KeyRangePart)] = [(connection, .all)]
    if let copy = snapshot.copy, throughCopy, unique, Self.integerKeys.contains(types[key] ?? 0),
      let (second, bound) = try secondPart(of: copy)
    {
      parts = [(connection, .upTo(bound)), (second, .past(bound))]
    }
    let selects = parts.map { part in
      if let copy = snapshot.copy, throughCopy {
        WarehouseDiffQuery.copySelect(
          model, key: key, repeats: repeats, columns: columns, signature: signature, snapshot: snapshot, copy: copy,
          fewRows: finding == .compared(lacking: 0), rows: check?.rows, part: part.keys)
      } else {
        WarehouseDiffQuery.select(model, key: key, repeats: repeats, columns: columns, signature: signature, snapshot: snapshot)
      }
    }
    let copy = "COPY ("
    let diff: PostgresDiffStream
    do {
      let streams = try PostgresConnection.copyOut(
        zip(parts, selects).map { (connection: $0.connection, sql: copy + $1.sql + ") TO STDOUT") })
      diff = PostgresDiffStream(
        parts: zip(streams, parts).map { ($0, $1.connection) }, kinds: columns.map { Kind(oid: types[$0] ?? 0) },
        queryTimeout: queryTimeout, typedCopy: finding)
    } catch let error as PostgresError {
      for part in parts { try? part.connection.execute("ROLLBACK") }
      // Every part's statement has the same text before the model.
      throw sourceError(error, modelOffset: copy.count + selects[0].modelOffset, model: model)
    }
    try diff.start()
    return diff
  }

  public func typedCopyLayout(_ model: ModelSQL, key: String, columns: [String]) throws -> TypedCopyLayout? {
    let types = Dictionary(try describe(model).map { ($0.name, $0.typeOID) }, uniquingKeysWith: { first, _ in first })
    guard let keyType = types[key].flatMap({ TypedCopyColumns.keyTypes[$0] }) else { return nil }
    var copied: [String] = []
    for column in columns {
      guard let type = types[column].flatMap({ TypedCopyColumns.valueTypes[$0] }) else { return nil }
      copied.append(type)
    }
    let settings = try connection.query(
      """
      SELECT concat_ws(' ', current_setting('TimeZone'), current_setting('DateStyle'), current_setting('IntervalStyle'),
        current_setting('extra_float_digits'), current_setting('bytea_output'), current_setting('server_version_num'))
      """, [])
    return TypedCopyLayout(keyType: keyType, types: copied, settings: settings.first?.first.flatMap { $0 } ?? "")
  }

  /// The diff transaction's settings, after its BEGIN.
  private static let diffSettings = "SELECT set_config(name, 'off', true) FROM pg_settings WHERE name = 'jit'"

  /// Key types whose range splits in two by arithmetic: smallint, integer, bigint.
  private static let integerKeys: Set<UInt32> = [20, 21, 23]

  /// A second session reading this transaction's snapshot, with the same settings, for the keys
  /// past the median of the copy's: the two halves of the merge join run at once, on two server
  /// processes (PostgreSQL before 16 runs a full join in one). `nil` leaves the diff whole: an
  /// empty copy, a standby before PostgreSQL 10 (which cannot export a snapshot), or no second
  /// connection to be had.
  private func secondPart(of copy: WarehouseCopy) throws -> (PostgresConnection, String)? {
    // A failed export would end the transaction (and a savepoint cannot export), so ask first.
    let exports = try connection.query(
      "SELECT current_setting('server_version_num')::int >= 100000 OR NOT pg_is_in_recovery()", [])
    guard exports.first?.first == "t", let second = openSecondSession() else { return nil }
    // The bound is the median of the copy's keys in the statistics of its last ANALYZE (ids with
    // a gap or a few far ones would leave the middle of their range near one end), else the
    // middle of its smallest and largest key.
    let row = try connection.query(
      """
      SELECT pg_export_snapshot(), coalesce(
        (SELECT (bounds)[array_length(bounds, 1) / 2 + 1]::bigint
         FROM (SELECT s.histogram_bounds::text::numeric[] AS bounds FROM pg_stats s
           JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
           WHERE c.oid = to_regclass($1) AND s.attname = 'backflow key') AS statistics),
        (SELECT floor((min("backflow key")::numeric + max("backflow key")::numeric) / 2)::bigint FROM \(copy.table)))
      """, [copy.table]
    ).first
    guard let row, let snapshot = row[0], let bound = row[1].flatMap({ Int($0) }) else { return nil }
    do {
      try second.execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT \(WarehouseDiffQuery.literal(snapshot)); "
          + Self.diffSettings + "; SET LOCAL enable_hashjoin = off")
    } catch {
      try? second.execute("ROLLBACK")
      return nil
    }
    return (second, String(bound))
  }

  /// Whether the copy mirrors the snapshot in this transaction's view, so that no apply can slip
  /// between the check and the diff, how many of its rows have no values yet (after a rebuild:
  /// the diff returns them all), and how many rows it holds when its stamp says. A check that
  /// fails otherwise than for a missing table (no privilege) means the copy is not readable.
  private func typedCopyFinding(_ copy: WarehouseCopy) throws -> (finding: TypedCopyFinding, rows: Int?) {
    try connection.execute("SAVEPOINT backflow_copy_check")
    let stamp: [String?]?
    do {
      stamp = try connection.query(copy.check, []).first
      try connection.execute("RELEASE SAVEPOINT backflow_copy_check")
    } catch {
      try connection.execute("ROLLBACK TO SAVEPOINT backflow_copy_check")
      return ((error as? PostgresError)?.sqlState == "42P01" ? .behind : .unreadable, nil)
    }
    guard let stamp else { return (.behind, nil) }
    guard stamp[0] == "t" else { return (.unreadable, nil) }
    guard stamp[1] == "t" else { return (.behind, nil) }
    let lacking = try connection.query("SELECT count(*) FROM \(copy.table) WHERE NOT \"backflow known\"", [])
    return (.compared(lacking: lacking.first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0), stamp[2].flatMap { Int($0) })
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
}

/// The diff's rows, merged from its parts in the diff's order; the transaction of each part ends
/// with its rows: committed after its last row, rolled back on an error or when the stream is
/// released early.
private final class PostgresDiffStream: WarehouseDiffStream {
  private struct Part {
    /// `nil` once the transaction has ended; releasing the COPY ends (or cancels) it first.
    var stream: PostgresCopyOut?
    let connection: PostgresConnection
    /// The part's next row, read ahead to merge by; `nil` when it has none left.
    var next: [String?]?
  }

  private var parts: [Part]
  private let kinds: [PostgresModelReader.Kind]
  private let queryTimeout: Interval?
  private(set) var snapshotRows = 0
  let typedCopy: TypedCopyFinding?

  init(
    parts: [(PostgresCopyOut, PostgresConnection)], kinds: [PostgresModelReader.Kind], queryTimeout: Interval?,
    typedCopy: TypedCopyFinding?
  ) {
    self.parts = parts.map { Part(stream: $0.0, connection: $0.1, next: nil) }
    self.kinds = kinds
    self.queryTimeout = queryTimeout
    self.typedCopy = typedCopy
  }

  deinit {
    rollBackOpenParts()
  }

  /// Reads every part's first row, then the snapshot's row count, which sorts first.
  func start() throws {
    for index in parts.indices { parts[index].next = try read(index) }
    guard let fields = try nextFields(), fields[0] == "0", let count = fields[1].flatMap({ Int($0) }) else {
      rollBackOpenParts()
      throw SourceError("the warehouse diff did not start with the snapshot's row count")
    }
    snapshotRows = count
  }

  func next() throws -> WarehouseDiffRow? {
    guard let fields = try nextFields() else { return nil }
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

  /// The first in the diff's order of the parts' next rows, and that part's row after it.
  private func nextFields() throws -> [String?]? {
    var first: Int?
    for index in parts.indices where parts[index].next != nil {
      if let current = first, !Self.precedes(parts[index].next!, parts[current].next!) { continue }
      first = index
    }
    guard let first else { return nil }
    let fields = parts[first].next
    parts[first].next = try read(first)
    return fields
  }

  /// The diff's `ORDER BY`: rank, then the key (or the entry's) by its bytes, NULL first, then
  /// the fingerprint, NULL last.
  private static func precedes(_ row: [String?], _ other: [String?]) -> Bool {
    if row[0] != other[0] { return (row[0] ?? "") < (other[0] ?? "") }
    switch (row[1] ?? row[3], other[1] ?? other[3]) {
    case (nil, .some): return true
    case (.some, nil): return false
    case (.some(let key), .some(let otherKey)) where key != otherKey:
      return key.utf8.lexicographicallyPrecedes(otherKey.utf8)
    default:
      guard let fingerprint = row[2] else { return false }
      guard let otherFingerprint = other[2] else { return true }
      return fingerprint.utf8.lexicographicallyPrecedes(otherFingerprint.utf8)
    }
  }

  /// Part `index`'s next row; after its last one its transaction is committed, after an error
  /// every part's is rolled back.
  private func read(_ index: Int) throws -> [String?]? {
    guard let stream = parts[index].stream else { return nil }
    let fields: [String?]?
    do {
      fields = try stream.next()
    } catch {
      rollBackOpenParts()
      throw SourceError(PostgresModelReader.reason(error, queryTimeout: queryTimeout))
    }
    if fields == nil {
      do {
        try end(index, "COMMIT")
      } catch {
        rollBackOpenParts()
        throw SourceError("\(error)")
      }
    }
    return fields
  }

  /// Ends every part's transaction still open, as an error or an early release does.
  private func rollBackOpenParts() {
    for index in parts.indices where parts[index].stream != nil { try? end(index, "ROLLBACK") }
  }

  private func end(_ index: Int, _ statement: String) throws {
    parts[index].stream = nil
    parts[index].next = nil
    try parts[index].connection.execute(statement)
  }
}
