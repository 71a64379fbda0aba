import BackflowConfig
import BackflowSources

/// Models on any ADBC driver: the model's query wrapped to turn its key into text and sort it by
/// bytes in the warehouse (the dialect says how), its Arrow batches streamed a row at a time.
/// The connection is read-only where the driver or the dialect allows it. With a `queryTimeout`,
/// a model query is cancelled once it has run that long.
public final class ADBCModelReader: ModelReader {
  private let connection: ADBCConnection
  private let dialect: ADBCDialect
  private let queryTimeout: Interval?
  /// The schema where warehouse planning keeps the snapshots (`planning:`): `PlanningTables` on
  /// the postgres dialect, `SparkPlanningTables` on spark.
  public let planningSchema: String?

  public func quoteIdentifier(_ name: String) -> String { dialect.quoteIdentifier(name) }

  public init(
    database: ADBCDatabase, dialect: ADBCDialect, queryTimeout: Interval? = nil, planningSchema: String? = nil
  ) throws {
    self.dialect = dialect
    self.queryTimeout = queryTimeout
    self.planningSchema = planningSchema
    do {
      connection = try database.connect()
    } catch {
      throw SourceError("\(error)", kind: .connection)
    }
    do {
      try connection.setOption("adbc.connection.readonly", "true")
    } catch {
      guard let statement = dialect.readOnlySession else { return }
      do {
        try connection.execute(statement)
      } catch {
        throw SourceError("could not make the model session read-only: \(error)")
      }
    }
  }

  public func columns(of model: ModelSQL) throws -> [String] {
    try query(model.wrapped(select: "*", rest: "\nLIMIT 0").sql).fields.map(\.name)
  }

  public func rows(of model: ModelSQL, key: String, columns: [String]) throws -> any ModelRowStream {
    let keyText = dialect.text(dialect.quoteIdentifier(key))
    let sql = model.wrapped(select: list(keyText, columns), rest: "\nORDER BY \(dialect.byteOrder(keyText))").sql
    return ADBCRowStream(stream: try query(sql), dialect: dialect, explain: explain)
  }

  public func rows(of model: ModelSQL, key: String, equalTo value: String, columns: [String], limit: Int) throws
    -> [ModelRow]
  {
    let keyText = dialect.text(dialect.quoteIdentifier(key))
    let sql = model.wrapped(
      select: list(keyText, columns), rest: "\nWHERE \(keyText) = \(dialect.literal(value)) LIMIT \(max(0, limit))"
    ).sql
    let stream = ADBCRowStream(stream: try query(sql), dialect: dialect, explain: explain)
    var rows: [ModelRow] = []
    while let row = try stream.next() { rows.append(row) }
    return rows
  }

  private func list(_ keyText: String, _ columns: [String]) -> String {
    ([keyText] + columns.map(dialect.quoteIdentifier)).joined(separator: ", ")
  }

  /// Runs one of the model's statements, cancelled at the source's `query_timeout`.
  func query(_ sql: String) throws -> ArrowStream {
    try reading { try connection.query(sql, timeout: queryTimeout.map { .seconds($0.seconds) }) }
  }

  func reading<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as ADBCError {
      throw SourceError(explain(error))
    }
  }

  /// The driver's message, saying plainly when the model tried to write or ran out of time; also
  /// what the reader's streams say of a failure while rows arrive.
  var explain: @Sendable (ADBCError) -> String {
    { [dialect, queryTimeout] error in Self.reason(error, dialect, queryTimeout: queryTimeout) }
  }

  private static func reason(_ error: ADBCError, _ dialect: ADBCDialect, queryTimeout: Interval?) -> String {
    if error.timedOut, let queryTimeout {
      return error.cancelled
        ? SourceError.queryTimedOut(after: queryTimeout)
        : SourceError.queryTimedOut(after: queryTimeout, notCancelledBecause: error.message)
    }
    return dialect.isWriteRefusal(error) ? SourceError.modelTriedToWrite(error.message) : error.message
  }
}

extension ADBCModelReader: WarehousePlanning {
  public func plannedSnapshotVersion(syncID: Int) throws -> WarehouseSnapshotVersion? {
    guard let planningSchema else { return nil }
    return try reading {
      dialect == .spark
        ? try SparkPlanningTables(schema: planningSchema).version(syncID: syncID, on: connection)
        : try PlanningTables(schema: planningSchema).version(syncID: syncID, on: connection)
    }
  }

    /// On Spark, on the model's session: Spark has no read-only one. The statement is cancelled
  /// at `query_timeout` as a model query is.
  public func stage(
    _ model: ModelSQL, syncName: String, key: String, columns: [String], used: [String], signature: String
  ) throws -> ModelSQL? {
    guard let planningSchema, dialect == .spark else { return nil }
    let tables = SparkPlanningTables(schema: planningSchema)
    let table = tables.staging(syncName: syncName)
    for statement in tables.stage(model, key: key, columns: columns, used: used, signature: signature, into: table) {
      // A query, not an execute: only a query is cancelled at the timeout. Drained, so the
      // statement has run to its end whether or not the driver executes lazily.
      let stream = try query(statement)
      while try reading({ try stream.next() }) != nil {}
    }
    return ModelSQL(table: tables.name(table))
  }

  public func snapshotRows(ofStaged staged: ModelSQL, columns: [String]) throws -> WarehouseSnapshotRows? {
    guard dialect == .spark, let table = staged.table else { return nil }
    let stream = try query("SELECT * FROM \(table) LIMIT 0")
    guard let fields = SparkFieldsJSON.object(of: columns, in: stream.fields) else { return nil }
    return WarehouseSnapshotRows(query: SparkPlanningTables.snapshotRows(ofStaged: table, fields: fields), stage: table)
  }

  /// One query, the native reader's statement (on Spark, its own with Spark's fingerprints): with
  /// no transaction to hold a search for repeated keys and the diff to the same rows, the diff
  /// always joins the repeated keys itself.
  public func diff(_ model: ModelSQL, key: String, columns: [String], used: [String], signature: String, syncID: Int)
    throws -> any WarehouseDiffStream
  {
    guard let planningSchema else { throw SourceError("this source has no planning: schema") }
    // Backflow's fingerprints, which postgres computes, cover what the state store's entries do.
    guard dialect == .spark || used == columns else {
      throw SourceError("the \(dialect.rawValue) planning diff fingerprints every column it returns")
    }
    let sql =
      dialect == .spark
      ? SparkPlanningTables(schema: planningSchema).diff(
        model, key: key, columns: columns, used: used, signature: signature, syncID: syncID)
      : WarehouseDiffQuery.select(
        model, key: key, repeats: true, columns: columns, signature: signature,
        snapshot: PlanningTables(schema: planningSchema).snapshot(syncID: syncID)
      ).sql
    let diff = ADBCDiffStream(stream: try query(sql), fingerprintsAreBackflows: dialect != .spark, explain: explain)
    try diff.start()
    return diff
  }
}

/// The warehouse diff's rows from an Arrow stream, in the columns `WarehouseDiffQuery.select`
/// names; the first row holds the snapshot's count.
private final class ADBCDiffStream: WarehouseDiffStream {
  private let stream: ArrowStream
  private let explain: (ADBCError) -> String
  private(set) var snapshotRows = 0
  let fingerprintsAreBackflows: Bool

  init(stream: ArrowStream, fingerprintsAreBackflows: Bool, explain: @escaping (ADBCError) -> String) {
    self.stream = stream
    self.fingerprintsAreBackflows = fingerprintsAreBackflows
    self.explain = explain
  }

  func start() throws {
    guard let values = try read(), values[0].text == "0", let count = values[1].text.flatMap({ Int($0) }) else {
      throw SourceError("the warehouse diff did not start with the snapshot's row count")
    }
    snapshotRows = count
  }

  func next() throws -> WarehouseDiffRow? {
    guard let values = try read() else { return nil }
    let fingerprint = values[2].text
    return WarehouseDiffRow(
      row: fingerprint == nil ? nil : ModelRow(key: values[1].text, values: Array(values[6...])),
      fingerprint: fingerprint, entryKey: values[3].text, entryFingerprint: values[4].text, matchValue: values[5].text)
  }

  private func read() throws -> [FieldValue]? {
    do {
      return try stream.next()
    } catch let error as ADBCError {
      throw SourceError(explain(error))
    }
  }
}

/// A model's rows from an Arrow stream; column 0 is the key's text. Checks that the keys come in
/// byte order, so a warehouse that sorts otherwise fails loudly instead of planning wrong.
private final class ADBCRowStream: ModelRowStream {
  private let stream: ArrowStream
  private let dialect: ADBCDialect
  private let explain: (ADBCError) -> String
  private var previousKey: String?
  private var started = false

  init(stream: ArrowStream, dialect: ADBCDialect, explain: @escaping (ADBCError) -> String) {
    self.stream = stream
    self.dialect = dialect
    self.explain = explain
  }

  func next() throws -> ModelRow? {
    let values: [FieldValue]?
    do {
      values = try stream.next()
    } catch let error as ADBCError {
      throw SourceError(explain(error))
    }
    guard let values, let first = values.first else { return nil }
    let key: String?
    switch first {
    case .null: key = nil
    case let .string(text), let .number(text), let .json(text): key = text
    case let .integer(number): key = String(number)
    case let .bool(flag): key = String(flag)
    }
    if started, let key, let previous = previousKey, key.utf8.lexicographicallyPrecedes(previous.utf8) {
      throw SourceError(
        "the warehouse returned key \(key) after \(previous): it did not sort the keys by their bytes "
          + "(dialect \(dialect.rawValue)); set dialect: to the engine behind the driver")
    }
    if started, previousKey != nil, key == nil {
      throw SourceError("the warehouse returned a NULL key after other keys: it did not sort NULL first")
    }
    started = true
    previousKey = key
    return ModelRow(key: key, values: Array(values.dropFirst()))
  }
}
