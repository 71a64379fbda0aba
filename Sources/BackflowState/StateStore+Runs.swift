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

  /// Records how a run ended: status, error and counts, stamped with the time now.
  public func finishRun(_ run: RunRecord) throws {
    let counts = [run.planned, run.attempted, run.succeeded, run.failed, run.aborted].flatMap {
      [$0.add, $0.change, $0.remove].map(String.init)
    }
    let assignments = Self.countColumns.enumerated().map { "\($1) = $\($0 + 4)" }.joined(separator: ", ")
    try connection.execute(
      "UPDATE \(try table("runs")) SET status = $1, error = $2, finished_at = $3, \(assignments) WHERE id = $\(counts.count + 4)",
      [run.status.rawValue, run.error, Self.now()] + counts + [String(run.id)])
  }

  /// Runs newest first, of one sync or of all.
  public func runs(syncID: Int? = nil, limit: Int = 100) throws -> [RunRecord] {
    guard exists else { return [] }
    let filter = syncID.map { "WHERE sync_id = \($0)" } ?? ""
    let rows = try connection.query(
      """
      SELECT id, sync_id, status, error, started_at, finished_at, git_commit, rows_queried,
        \(Self.countColumns.joined(separator: ", "))
      FROM \(try table("runs")) \(filter) ORDER BY id DESC LIMIT \(limit)
      """, [])
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

  /// Records rows a run could not deliver.
  public func recordFailures(_ failures: [FailedRow], runID: Int, syncID: Int) throws {
    let failedRows = try table("failed_rows")
    try transaction {
      for start in stride(from: 0, to: failures.count, by: Self.rowsPerStatement) {
        let chunk = failures[start..<min(start + Self.rowsPerStatement, failures.count)]
        try connection.execute(
          "INSERT INTO \(failedRows) (run_id, sync_id, operation, row_key, reason) VALUES \(Self.placeholders(rows: chunk.count, columns: 5))",
          chunk.flatMap { [String(runID), String(syncID), $0.operation, $0.key, $0.reason] })
      }
    }
  }

  /// The rows a run could not deliver, in the order they failed.
  public func failures(runID: Int) throws -> [FailedRow] {
    guard exists else { return [] }
    return try connection.query(
      "SELECT operation, row_key, reason FROM \(try table("failed_rows")) WHERE run_id = $1 ORDER BY id",
      [String(runID)]
    ).map { FailedRow(operation: $0[0] ?? "", key: $0[1], reason: $0[2] ?? "") }
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
