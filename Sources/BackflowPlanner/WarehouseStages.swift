import BackflowSources
import Synchronization

/// The syncs whose models an apply's planner staged in their warehouse (`WarehousePlanning.stage`),
/// shared by the planner that stages and the engine that, after each run, computes the warehouse's
/// copy from what was staged. Only a sync staged by this apply's own planning has a copy computed;
/// a plan file made by `backflow plan` stages nothing.
public final class WarehouseStages: Sendable {
  /// Each staged sync, with the staged rows its sync logs read in the warehouse when its plan left
  /// its unchanged rows there.
  private let staged = Mutex<[String: WarehouseSnapshotRows?]>([:])

  public init() {}

  func insert(_ sync: String) {
    staged.withLock { $0[sync] = .some(nil) }
  }

  /// Notes that the plan of `sync`, staged, lists only the rows the warehouse diff returned: the
  /// others are unchanged, and its sync logs take them from `rows`.
  func leavesUnchangedRows(_ sync: String, in rows: WarehouseSnapshotRows) {
    staged.withLock { $0[sync] = .some(rows) }
  }

  public func contains(_ sync: String) -> Bool {
    staged.withLock { $0[sync] != nil }
  }

  /// Where the unchanged rows of `sync` are, when its plan left them in the warehouse.
  public func unchangedRows(of sync: String) -> WarehouseSnapshotRows? {
    staged.withLock { $0[sync] ?? nil }
  }
}
