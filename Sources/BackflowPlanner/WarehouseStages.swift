import Synchronization

/// The syncs whose models an apply's planner staged in their warehouse (`WarehousePlanning.stage`),
/// shared by the planner that stages and the engine that, after each run, computes the warehouse's
/// copy from what was staged. Only a sync staged by this apply's own planning has a copy computed;
/// a plan file made by `backflow plan` stages nothing.
public final class WarehouseStages: Sendable {
  private let names = Mutex<Set<String>>([])

  public init() {}

  func insert(_ sync: String) {
    names.withLock { _ = $0.insert(sync) }
  }

  public func contains(_ sync: String) -> Bool {
    names.withLock { $0.contains(sync) }
  }
}
