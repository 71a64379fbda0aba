import BackflowPlanner

/// A sync's planned rows in memory, read by a `SyncRun` as it reads a plan file.
public struct MemoryPlan: PlannedRowSource {
  public var columns: [String]
  public var rows: [PlannedRow]

  public init(columns: [String], rows: [PlannedRow]) {
    self.columns = columns
    self.rows = rows
  }

  public func rows(_ operations: [String]) throws -> any PlannedRowReader {
    Reader(columns: columns, rows: rows.filter { operations.isEmpty || operations.contains($0.operation) })
  }

  private final class Reader: PlannedRowReader {
    let columns: [String]
    private var rows: IndexingIterator<[PlannedRow]>

    init(columns: [String], rows: [PlannedRow]) {
      self.columns = columns
      self.rows = rows.makeIterator()
    }

    func next() throws -> PlannedRow? { rows.next() }
  }
}
