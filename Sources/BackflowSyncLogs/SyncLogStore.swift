/// The sync log tables in one database: a PostgreSQL schema or a SQLite file.
public protocol SyncLogStore: AnyObject {
  /// Writes one run in one transaction, creating the tables first if they are missing: the
  /// `sync_runs` row, each changelog row, then the sync's snapshot replaced by the run's changelog
  /// rows that are not removals plus each `unchanged` row. Rows are pulled one at a time, so
  /// memory does not grow with their number. Nothing is kept when it throws.
  func write(
    run: [String?], syncID: String, runID: String, changelog: () throws -> [String?]?,
    unchanged: () throws -> [String?]?
  ) throws
}

/// Runs one step of a write, turning a database's error into one that says which step failed;
/// a `SyncLogError` (from reading rows, or a step inside) passes through unchanged.
func step<Result>(_ what: @autoclosure () -> String, _ body: () throws -> Result) throws -> Result {
  do {
    return try body()
  } catch let error as SyncLogError {
    throw error
  } catch {
    throw SyncLogError("\(what()): \(error)")
  }
}
