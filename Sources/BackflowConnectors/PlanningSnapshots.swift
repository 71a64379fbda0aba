import BackflowSources
import BackflowState

/// The copies of the syncs' snapshots a source keeps for warehouse planning (`planning:`), written
/// after the state store's, so that a copy never holds a row the state store does not.
public protocol PlanningSnapshots: AnyObject {
  /// Where the copies are, as messages say it.
  var location: String { get }
  func version(syncID: Int) throws -> WarehouseSnapshotVersion?
  /// Applies one recorded advance of the state store's snapshot to the copy, which then is at
  /// `version`; one transaction.
  func advance(
    syncID: Int, entries: [SnapshotEntry], newEntries: [SnapshotEntry], removedKeys: [String],
    to version: WarehouseSnapshotVersion
  ) throws
  /// Replaces the copy with every entry of `snapshot`, at `version`; one transaction.
  func replace(syncID: Int, with snapshot: SnapshotStream, at version: WarehouseSnapshotVersion) throws
}
