import BackflowSources
import BackflowState

/// How a source keeps the copies of the syncs' snapshots that warehouse planning diffs against.
public enum PlanningCopy {
  /// Advanced with each of the state store's records, one transaction each (postgres).
  case advanced(any PlanningSnapshots)
  /// Computed in the warehouse after a run, from the model apply staged there (Spark, whose
  /// tables take no UPDATE or DELETE).
  case computed(any ComputedPlanningSnapshots)
}

/// The copies of the syncs' snapshots a source keeps for warehouse planning (`planning:`), written
/// after the state store's, so that a copy never holds a row the state store does not.
public protocol PlanningSnapshots: AnyObject {
  /// Where the copies are, as messages say it.
  var location: String { get }
  func version(syncID: Int) throws -> WarehouseSnapshotVersion?
  /// How many entries the copy of a sync's snapshot holds.
  func count(syncID: Int) throws -> Int
  /// Applies one recorded advance of the state store's snapshot to the copy, which then is at
  /// `version`; one transaction.
  func advance(
    syncID: Int, entries: [SnapshotEntry], newEntries: [SnapshotEntry], removedKeys: [String],
    to version: WarehouseSnapshotVersion
  ) throws
  /// Replaces the copy with every entry of `snapshot`, at `version`; one transaction.
  func replace(syncID: Int, with snapshot: SnapshotStream, at version: WarehouseSnapshotVersion) throws
}

/// The copies of warehouse planning a warehouse computes itself (Spark): each version a complete
/// table made from the model as apply staged it (`WarehousePlanning.stage`), published in one
/// statement. See docs/decisions.md ("Warehouse planning on Spark").
public protocol ComputedPlanningSnapshots: AnyObject {
  /// Where the copies are, as messages say it.
  var location: String { get }
  /// Makes run `runID`'s version of the sync's copy from the model staged for `syncName`, less
  /// the `unsent` keys (the run failed them; `true` where the state store holds the key, which
  /// then gets the fingerprint `''`), publishes it at `version`, and drops the stage unless the
  /// sync logs are still to read it (`keepingStage`; they drop it).
  func publish(
    syncID: Int, syncName: String, runID: Int, unsent: [String: Bool], at version: WarehouseSnapshotVersion,
    keepingStage: Bool
  ) throws
}
