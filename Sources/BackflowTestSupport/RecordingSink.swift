import BackflowPlanner
import BackflowState

/// Keeps every planned row.
public final class RecordingSink: PlannedRowSink {
  public var rows: [PlannedRow] = []
  public var columns: [String] = []

  public init() {}

  public func begin(sync: String, columns: [String], copy: TypedCopy?) throws {
    self.columns += columns
  }

  public func write(_ row: PlannedRow) throws {
    rows.append(row)
  }
}
