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
    let repeats: Bool
    let search = WarehouseDiffQuery.repeatSearch(model, key: key)
    do {
      // With parameters (none), libpq refuses a second statement, as the COPY does.
      repeats = try !unique && connection.query(search.sql, []).first?.first == "t"
    } catch let error as PostgresError {
      try? connection.execute("ROLLBACK")
      throw sourceError(error, modelOffset: search.modelOffset, model: model)
    }
    let finding = try snapshot.copy.map(typedCopyFinding)
    let throughCopy = finding?.isCompared == true
    if throughCopy, unique {
      // Both sides have an index on the key: a merge join reads them in order and hashes
      // nothing (at 1M rows, about half the time of the hash join the planner prefers).
      try connection.execute("SET LOCAL enable_hashjoin = off")
    }
    let select =
      if let copy = snapshot.copy, throughCopy {
        WarehouseDiffQuery.copySelect(
          model, key: key, repeats: repeats, columns: columns, signature: signature, snapshot: snapshot, copy: copy,
          fewRows: finding == .compared(lacking: 0))
      } else {
        WarehouseDiffQuery.select(model, key: key, repeats: repeats, columns: columns, signature: signature, snapshot: snapshot)
      }
    let copy = "COPY ("
    let (sql, modelOffset) = (copy + select.sql + ") TO STDOUT", copy.count + select.modelOffset)
    let diff: PostgresDiffStream
    do {
      diff = PostgresDiffStream(
        stream: try connection.copyOut(sql), connection: connection, kinds: columns.map { Kind(oid: types[$0] ?? 0) },
        queryTimeout: queryTimeout, typedCopy: finding)
    } catch let error as PostgresError {
      try? connection.execute("ROLLBACK")
      throw sourceError(error, modelOffset: modelOffset, model: model)
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

  /// Whether the copy mirrors the snapshot in this transaction's view, so that no apply can slip
  /// between the check and the diff, and how many of its rows have no values yet (after a
  /// rebuild: the diff returns them all). A check that fails otherwise than for a missing table
  /// (no privilege) means the copy is not readable.
  private func typedCopyFinding(_ copy: WarehouseCopy) throws -> TypedCopyFinding {
    try connection.execute("SAVEPOINT backflow_copy_check")
    let stamp: [String?]?
    do {
      stamp = try connection.query(copy.check, []).first
      try connection.execute("RELEASE SAVEPOINT backflow_copy_check")
    } catch {
      try connection.execute("ROLLBACK TO SAVEPOINT backflow_copy_check")
      return (error as? PostgresError)?.sqlState == "42P01" ? .behind : .unreadable
    }
    guard let stamp else { return .behind }
    guard stamp.first == "t" else { return .unreadable }
    guard stamp.last == "t" else { return .behind }
    let lacking = try connection.query("SELECT count(*) FROM \(copy.table) WHERE NOT \"backflow known\"", [])
    return .compared(lacking: lacking.first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0)
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

/// The diff's rows; the transaction the diff runs in ends with them: committed after the last
/// row, rolled back on an error or when the stream is released early.
private final class PostgresDiffStream: WarehouseDiffStream {
  /// `nil` once the transaction has ended; releasing the COPY ends (or cancels) it first.
  private var stream: PostgresCopyOut?
  private let connection: PostgresConnection
  private let kinds: [PostgresModelReader.Kind]
  private let queryTimeout: Interval?
  private(set) var snapshotRows = 0
  let typedCopy: TypedCopyFinding?

  init(
    stream: PostgresCopyOut, connection: PostgresConnection, kinds: [PostgresModelReader.Kind], queryTimeout: Interval?,
    typedCopy: TypedCopyFinding?
  ) {
    self.stream = stream
    self.connection = connection
    self.kinds = kinds
    self.queryTimeout = queryTimeout
    self.typedCopy = typedCopy
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
