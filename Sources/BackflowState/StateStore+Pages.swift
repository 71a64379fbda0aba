/// Pages of history for the web UI (`backflow serve`): runs and failed rows a page at a time,
/// counted in the database, so a sync with many runs or a run with many failed rows is never read
/// whole.
extension StateStore {
  /// The runs of one sync, newest first, skipping the newest `offset`.
  public func runs(syncID: Int, offset: Int, limit: Int) throws -> [RunRecord] {
    try selectRuns(
      "WHERE sync_id = $1", [String(syncID)], suffix: "ORDER BY id DESC LIMIT \(max(limit, 0)) OFFSET \(max(offset, 0))")
  }

  /// How many runs a sync has.
  public func runCount(syncID: Int) throws -> Int {
    guard exists else { return 0 }
    let rows = try connection.query("SELECT count(*) FROM \(try table("runs")) WHERE sync_id = $1", [String(syncID)])
    return rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
  }

  /// The rows a run could not deliver, in the order they failed, skipping the first `offset`.
  public func failures(runID: Int, offset: Int, limit: Int) throws -> [FailedRow] {
    guard exists else { return [] }
    return try connection.query(
      """
      SELECT operation, row_key, reason FROM \(try table("failed_rows")) WHERE run_id = $1
      ORDER BY id LIMIT \(max(limit, 0)) OFFSET \(max(offset, 0))
      """,
      [String(runID)]
    ).map { FailedRow(operation: $0[0] ?? "", key: $0[1], reason: $0[2] ?? "") }
  }
}
