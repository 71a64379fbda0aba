import BackflowConnectors
import BackflowSources
import BackflowState

/// The state store, and the copy of the sync's snapshot that warehouse planning keeps in the
/// model's source (`planning:`), advanced after each of the state store's records and stamped
/// with the version the state store's snapshot is then at. A copy found at another version
/// when the run starts, or one whose write failed, gets no more advances: after the run it is
/// rewritten from the state store's snapshot (`finish`). Until then the plan sees the versions
/// differ and diffs in Backflow. See docs/adbc.md.
final class PlanningLedger: RunLedger, @unchecked Sendable {
  private let state: StateStore
  private let copy: any PlanningSnapshots
  /// Whether the copy holds what the state store's snapshot holds; set on the snapshot
  /// writer's queue, read after it drained.
  private var inStep: Bool
  /// Why the copy could not be kept in step, for the run's notes.
  private var problem: String?

  init(state: StateStore, copy: any PlanningSnapshots, syncID: Int) {
    self.state = state
    self.copy = copy
    let found = try? copy.version(syncID: syncID)
    inStep = found != nil && found == (try? Self.version(of: state, syncID: syncID))
  }

  func record(_ advance: SnapshotAdvance, syncID: Int, runID: Int) throws {
    try state.record(advance, syncID: syncID, runID: runID)
    guard inStep, advance.size > 0 else { return }
    do {
      try copy.advance(
        syncID: syncID, entries: advance.entries, newEntries: advance.newEntries, removedKeys: advance.removedKeys,
        to: try Self.version(of: state, syncID: syncID))
    } catch {
      inStep = false
      problem = "\(error)"
    }
  }

  func markSwept(syncID: Int) throws {
    try state.markSwept(syncID: syncID)
  }

  func destinationIDs(syncID: Int, keys: [String]) throws -> [String: String] {
    try state.destinationIDs(syncID: syncID, keys: keys)
  }

  /// After the run: a copy out of step is rewritten from the state store's snapshot. A note for
  /// the run when the copy could not be kept or made current.
  func finish(syncID: Int) -> String? {
    if inStep { return nil }
    do {
      // The version first: the state store's connection is busy while the snapshot streams.
      let version = try Self.version(of: state, syncID: syncID)
      try copy.replace(syncID: syncID, with: try state.snapshot(syncID: syncID), at: version)
      return problem.map {
        "warehouse planning: the snapshot copy in \(copy.location) could not be advanced (\($0)); it was rewritten from the state store"
      }
    } catch {
      return "warehouse planning: could not write the snapshot copy in \(copy.location) (\(error)); "
        + "the next plan diffs in Backflow and says so"
    }
  }

  private static func version(of state: StateStore, syncID: Int) throws -> WarehouseSnapshotVersion {
    WarehouseSnapshotVersion(lineage: state.lineage ?? "", version: try state.snapshotVersion(syncID: syncID))
  }
}
