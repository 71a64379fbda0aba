import BackflowPlanner

/// Keeps every planned row.
public final class RecordingSink: PlannedRowSink {
  public var rows: [PlannedRow] = []
  public var columns: [String] = []

  public init() {}

  public func begin(sync: String, columns: [String]) throws {
    self.columns += columns
  }

  public func write(_ row: PlannedRow) throws {
    rows.append(row)
  }
}
