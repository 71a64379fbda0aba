import BackflowConfig

extension StateStore {
  private static let countColumns = ["planned", "attempted", "succeeded", "failed", "aborted"].flatMap { stage in
    ["add", "change", "remove"].map { "\(stage)_\($0)" }
  }

  /// Records the start of a run and gives it its ID.
  public func startRun(syncID: Int, gitCommit: String?, rowsQueried: Int, planned: OperationCounts) throws -> Int {
    let rows = try connection.query(
      """
      INSERT INTO \(try table("runs")) (sync_id, status, started_at, git_commit, rows_queried, planned_add,
        planned_change, planned_remove)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
      """,
      [
        String(syncID), RunRecord.Status.running.rawValue, Self.now(), gitCommit, String(rowsQueried),
        String(planned.add), String(planned.change), String(planned.remove),
      ])
    guard let id = rows.first?.first.flatMap({ $0.flatMap(Int.init) }) else {
      throw StateError("the state store did not return an ID for the run")
    }
    return id
  }

  /// Records how a run ended: status, error (credentials masked), rows queried and counts, stamped
  /// with the time now. A run whose rows were planned as it sent them knows its planned counts only
  /// here.
  public func finishRun(_ run: RunRecord) throws {
    let counts = [String(run.rowsQueried)] + [run.planned, run.attempted, run.succeeded, run.failed, run.aborted].flatMap {
      [$0.add, $0.change, $0.remove].map(String.init)
    }
    let assignments = (["rows_queried"] + Self.countColumns).enumerated().map { "\($1) = $\($0 + 4)" }
      .joined(separator: ", ")
    try connection.execute(
      "UPDATE \(try table("runs")) SET status = $1, error = $2, finished_at = $3, \(assignments) WHERE id = $\(counts.count + 4)",
      [run.status.rawValue, run.error.map(Redaction.redact), Self.now()] + counts + [String(run.id)])
  }

  /// Runs newest first, of one sync or of all.
  public func runs(syncID: Int? = nil, limit: Int = 100) throws -> [RunRecord] {
    try runs(syncIDs: syncID.map { [$0] }, limit: limit)
  }

  /// Runs newest first, of the given syncs (every sync when `nil`), at most `limit` (all when `nil`).
  public func runs(syncIDs: [Int]?, limit: Int?) throws -> [RunRecord] {
    if let syncIDs, syncIDs.isEmpty { return [] }
    let filter = syncIDs.map { "WHERE sync_id IN (\($0.map(String.init).joined(separator: ", ")))" } ?? ""
    return try selectRuns(filter, [], suffix: "ORDER BY id DESC" + (limit.map { " LIMIT \(max($0, 0))" } ?? ""))
  }

  /// The run with ID `id`, or `nil` when there is none.
  public func run(id: Int) throws -> RunRecord? {
    try selectRuns("WHERE id = $1", [String(id)], suffix: "").first
  }

  /// The newest run of each sync that has finished (any status but running), by sync ID; only the
  /// given syncs when `syncIDs` is set.
  ///
  /// With `sendingRows`, runs that had rows to send but neither attempted nor failed any (refused
  /// by the deletion guard, stopped before the first batch) are passed over: the rows that failed
  /// before them are still the ones failing.
  public func latestFinishedRuns(syncIDs: [Int]? = nil, sendingRows: Bool = false) throws -> [RunRecord] {
    if let syncIDs, syncIDs.isEmpty { return [] }
    let syncs = syncIDs.map { " AND sync_id IN (\($0.map(String.init).joined(separator: ", ")))" } ?? ""
    let total = { (stage: String) in
      ["add", "change", "remove"].map { "coalesce(\(stage)_\($0), 0)" }.joined(separator: " + ")
    }
    let sent = sendingRows ? " AND (\(total("planned")) = 0 OR \(total("attempted")) + \(total("failed")) > 0)" : ""
    return try selectRuns(
      """
      WHERE id IN (SELECT max(id) FROM \(try table("runs"))
        WHERE status <> '\(RunRecord.Status.running.rawValue)'\(syncs)\(sent) GROUP BY sync_id)
      """, [], suffix: "ORDER BY sync_id")
  }

  func selectRuns(_ filter: String, _ parameters: [String?], suffix: String) throws -> [RunRecord] {
    guard exists else { return [] }
    let rows = try connection.query(
      """
      SELECT id, sync_id, status, error, started_at, finished_at, git_commit, rows_queried,
        \(Self.countColumns.joined(separator: ", "))
      FROM \(try table("runs")) \(filter) \(suffix)
      """, parameters)
    return rows.map { row in
      let number = { (index: Int) in Int(row[index] ?? "") ?? 0 }
      let counts = { (stage: Int) in
        OperationCounts(add: number(8 + stage * 3), change: number(9 + stage * 3), remove: number(10 + stage * 3))
      }
      return RunRecord(
        id: number(0), syncID: number(1), status: RunRecord.Status(rawValue: row[2] ?? "") ?? .failed, error: row[3],
        startedAt: row[4] ?? "", finishedAt: row[5], gitCommit: row[6], rowsQueried: number(7), planned: counts(0),
        attempted: counts(1), succeeded: counts(2), failed: counts(3), aborted: counts(4))
    }
  }

  /// Records rows a run could not deliver, their reasons' credentials masked.
  public func recordFailures(_ failures: [FailedRow], runID: Int, syncID: Int) throws {
    let failedRows = try table("failed_rows")
    try transaction {
      for start in stride(from: 0, to: failures.count, by: Self.rowsPerStatement) {
        let chunk = failures[start..<min(start + Self.rowsPerStatement, failures.count)]
        try connection.execute(
          "INSERT INTO \(failedRows) (run_id, sync_id, operation, row_key, reason) VALUES \(Self.placeholders(rows: chunk.count, columns: 5))",
          chunk.flatMap { [String(runID), String(syncID), $0.operation, $0.key, Redaction.redact($0.reason)] })
      }
    }
  }

  /// The rows a run could not deliver, in the order they failed; the first `limit` when set.
  public func failures(runID: Int, limit: Int? = nil) throws -> [FailedRow] {
    guard exists else { return [] }
    return try connection.query(
      "SELECT operation, row_key, reason FROM \(try table("failed_rows")) WHERE run_id = $1 ORDER BY id"
        + (limit.map { " LIMIT \(max($0, 0))" } ?? ""),
      [String(runID)]
    ).map { FailedRow(operation: $0[0] ?? "", key: $0[1], reason: $0[2] ?? "") }
  }

  /// How many rows a run could not deliver, as recorded row by row.
  public func failureCount(runID: Int) throws -> Int {
    guard exists else { return 0 }
    let rows = try connection.query(
      "SELECT count(*) FROM \(try table("failed_rows")) WHERE run_id = $1", [String(runID)])
    return rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
  }

  /// The failed rows of `runIDs` grouped by run and reason: how many, and the first `sampleSize`
  /// of each group in the order they failed. Counted in the database, so a run with many failed
  /// rows is not read into memory.
  public func failureGroups(runIDs: [Int], sampleSize: Int) throws -> [FailureGroup] {
    guard exists, !runIDs.isEmpty else { return [] }
    // Numbers are written into the SQL: SQLite compares a window function's result with a text
    // parameter as text.
    let rows = try connection.query(
      """
      SELECT run_id, reason, total, operation, row_key, position FROM (
        SELECT run_id, reason, operation, row_key,
          row_number() OVER (PARTITION BY run_id, reason ORDER BY id) AS position,
          count(*) OVER (PARTITION BY run_id, reason) AS total
        FROM \(try table("failed_rows")) WHERE run_id IN (\(runIDs.map(String.init).joined(separator: ", ")))
      ) AS numbered
      WHERE position <= \(max(sampleSize, 1))
      ORDER BY run_id, total DESC, reason, position
      """, [])
    var groups: [FailureGroup] = []
    for row in rows {
      let runID = Int(row[0] ?? "") ?? 0
      let reason = row[1] ?? ""
      let sample = FailedRow(operation: row[3] ?? "", key: row[4], reason: reason)
      if let last = groups.last, last.runID == runID, last.reason == reason {
        groups[groups.count - 1].sample.append(sample)
      } else {
        groups.append(FailureGroup(runID: runID, reason: reason, count: Int(row[2] ?? "") ?? 0, sample: [sample]))
      }
    }
    if sampleSize <= 0 {
      for index in groups.indices { groups[index].sample = [] }
    }
    return groups
  }

  /// Marks mirror's first-run sweep done, so later runs delete only rows that leave the model.
  public func markSwept(syncID: Int) throws {
    try connection.execute("UPDATE \(try table("syncs")) SET swept_at = $1 WHERE id = $2", [Self.now(), String(syncID)])
  }

  /// Empties a sync's snapshot, so every row is sent again.
  public func clearSnapshot(syncID: Int) throws {
    try updateSnapshot(syncID: syncID, entries: [], removedKeys: [], replacing: true)
  }
}
