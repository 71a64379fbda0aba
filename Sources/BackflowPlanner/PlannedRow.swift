import BackflowSources
import BackflowState

/// One row-level step of a plan, as a plan file records it for apply.
public enum PlannedRow: Sendable, Equatable {
  case add(FingerprintedRow)
  case change(FingerprintedRow)
  case remove(SnapshotEntry)
  /// Reset CDC: recorded into the snapshot, not sent.
  case record(FingerprintedRow)
  /// Fails at apply with the reason; never reaches the destination.
  case reject(FingerprintedRow, RejectReason)
  /// Not sent; planned only when the project writes sync logs, whose `sync_snapshot` lists every
  /// model row.
  case unchanged(FingerprintedRow)
}

extension PlannedRow {
  /// The row of a plan file's operation (`op`) that carries only a model row: `add`, `change`,
  /// `record` or `unchanged`; `nil` for the others.
  init?(operation: String, _ row: FingerprintedRow) {
    switch operation {
    case "add": self = .add(row)
    case "change": self = .change(row)
    case "record": self = .record(row)
    case "unchanged": self = .unchanged(row)
    default: return nil
    }
  }

  /// The plan file's `op` of this row.
  public var operation: String {
    switch self {
    case .add: "add"
    case .change: "change"
    case .remove: "remove"
    case .record: "record"
    case .reject: "reject"
    case .unchanged: "unchanged"
    }
  }
}

/// One sync's planned rows, read back in the order they were planned.
public protocol PlannedRowReader: AnyObject {
  /// The model columns the rows' values follow, in order.
  var columns: [String] { get }
  func next() throws -> PlannedRow?
}

/// One sync's planned rows, read as often as apply needs them: one pass per group of operations.
/// A plan file in production (`PlanFileSource`); rows in memory in the batch loop's tests.
public protocol PlannedRowSource: Sendable {
  /// The rows whose `operation` is one of `operations`; every row when empty.
  func rows(_ operations: [String]) throws -> any PlannedRowReader
}

/// Receives a plan's rows as they are planned, so none has to be held in memory.
public protocol PlannedRowSink: AnyObject {
  /// Called before a sync's rows, with the model columns its rows' values are for and the typed
  /// copy apply keeps of its snapshot, if any.
  func begin(sync: String, columns: [String], copy: TypedCopy?) throws
  func write(_ row: PlannedRow) throws
}
