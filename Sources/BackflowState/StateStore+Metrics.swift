/// What `/metrics` reports, summed in the database over every run the state store holds.
public struct RunTotals: Sendable, Equatable {
  public var syncID: Int
  public var status: RunRecord.Status
  public var runs: Int
  public var succeeded: OperationCounts
  public var failed: OperationCounts
  public var aborted: OperationCounts

  public init(
    syncID: Int, status: RunRecord.Status, runs: Int, succeeded: OperationCounts, failed: OperationCounts,
    aborted: OperationCounts
  ) {
    self.syncID = syncID
    self.status = status
    self.runs = runs
    self.succeeded = succeeded
    self.failed = failed
    self.aborted = aborted
  }
}

/// A finished run's sync, start and end, for the run duration histogram.
public struct RunTimes: Sendable, Equatable {
  public var syncID: Int
  public var startedAt: String
  public var finishedAt: String
}

extension StateStore {
  /// Runs and rows by sync and status, summed by the database.
  public func runTotals() throws -> [RunTotals] {
    guard exists else { return [] }
    let stages = ["succeeded", "failed", "aborted"]
    let sums = stages.flatMap { stage in
      ["add", "change", "remove"].map { "sum(coalesce(\(stage)_\($0), 0))" }
    }
    let rows = try connection.query(
      """
      SELECT sync_id, status, count(*), \(sums.joined(separator: ", "))
      FROM \(try table("runs")) GROUP BY sync_id, status ORDER BY sync_id, status
      """, [])
    return rows.map { row in
      let number = { (index: Int) in Int(row[index] ?? "") ?? 0 }
      let counts = { (stage: Int) in
        OperationCounts(add: number(3 + stage * 3), change: number(4 + stage * 3), remove: number(5 + stage * 3))
      }
      return RunTotals(
        syncID: number(0), status: RunRecord.Status(rawValue: row[1] ?? "") ?? .failed, runs: number(2),
        succeeded: counts(0), failed: counts(1), aborted: counts(2))
    }
  }

  /// The start and end of every finished run, oldest first.
  public func finishedRunTimes() throws -> [RunTimes] {
    guard exists else { return [] }
    return try connection.query(
      "SELECT sync_id, started_at, finished_at FROM \(try table("runs")) WHERE finished_at IS NOT NULL ORDER BY id", []
    ).map { RunTimes(syncID: Int($0[0] ?? "") ?? 0, startedAt: $0[1] ?? "", finishedAt: $0[2] ?? "") }
  }

  /// When each sync's newest succeeded run finished, by sync ID.
  public func lastSuccesses() throws -> [Int: String] {
    guard exists else { return [:] }
    let rows = try connection.query(
      """
      SELECT sync_id, max(finished_at) FROM \(try table("runs"))
      WHERE status = '\(RunRecord.Status.succeeded.rawValue)' AND finished_at IS NOT NULL GROUP BY sync_id
      """, [])
    var found: [Int: String] = [:]
    for row in rows {
      if let id = row[0].flatMap({ Int($0) }), let at = row[1] { found[id] = at }
    }
    return found
  }

  /// Throws unless the state store can be read: its schema version is read when it exists (a
  /// query that touches the database, unlike `SELECT 1` on SQLite), nothing when it does not.
  public func ping() throws {
    guard database != nil else { return }
    guard exists else {
      _ = try connection.query("SELECT 1", [])
      return
    }
    _ = try connection.query("SELECT value FROM \(try table("meta")) WHERE key = 'schema_version'", [])
  }
}
