import Foundation

extension SyncLogRun {
  /// The run's `sync_runs` row as text, in `SyncLogTable.runs.columns` order (`nil` is NULL).
  func row() throws -> [String?] {
    let counts = [run.planned, run.attempted, run.succeeded, run.failed, run.aborted].flatMap {
      [$0.add, $0.change, $0.remove].map { String($0) }
    }
    return [
      String(run.syncID), String(run.id), primaryKey, destination, modelName, run.status.rawValue,
      run.error, try Self.utc(run.startedAt, column: "started_at"),
      try run.finishedAt.map { try Self.utc($0, column: "finished_at") },
    ] + counts + [String(run.rowsQueried), run.gitCommit, syncName]
  }

  /// An ISO-8601 time rewritten in UTC (`2024-05-01T10:00:00Z`), so SQLite's text sorts in time
  /// order and PostgreSQL reads the same instant.
  static func utc(_ text: String, column: String) throws -> String {
    for options in [
      ISO8601DateFormatter.Options.withInternetDateTime, [.withInternetDateTime, .withFractionalSeconds],
    ] {
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions = options
      formatter.timeZone = TimeZone(identifier: "UTC")
      if let date = formatter.date(from: text) { return formatter.string(from: date) }
    }
    throw SyncLogError("the run's \(column) \"\(text)\" is not an ISO-8601 time")
  }
}
