import BackflowConnectors
import BackflowSources
import BackflowState

/// A run's ledger that also keeps the copy of the sync's snapshot warehouse planning keeps in the
/// model's source (`planning:`).
protocol PlanningRunLedger: RunLedger {
  var state: StateStore { get }
  /// After the run, once the snapshot writer drained: brings the copy up to the state store's
  /// snapshot where it can. A note for the run when it could not.
  func finish(_ run: RunRecord) -> String?
}

extension PlanningRunLedger {
  func markSwept(syncID: Int) throws {
    try state.markSwept(syncID: syncID)
  }

  func destinationIDs(syncID: Int, keys: [String]) throws -> [String: String] {
    try state.destinationIDs(syncID: syncID, keys: keys)
  }

  static func version(of state: StateStore, syncID: Int) throws -> WarehouseSnapshotVersion {
    WarehouseSnapshotVersion(lineage: state.lineage ?? "", version: try state.snapshotVersion(syncID: syncID))
  }
}

/// The state store, and the copy of the sync's snapshot that warehouse planning keeps in the
/// model's source (`planning:`), advanced after each of the state store's records and stamped
/// with the version the state store's snapshot is then at. A copy found at another version or
/// row count when the run starts, or one whose write failed, gets no more advances: after the run it is
/// rewritten from the state store's snapshot (`finish`). Until then the plan sees the versions
/// differ and diffs in Backflow. See docs/adbc.md.
final class PlanningLedger: PlanningRunLedger, @unchecked Sendable {
  let state: StateStore
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
    inStep =
      found != nil && found == (try? Self.version(of: state, syncID: syncID))
      && (try? copy.count(syncID: syncID)) == (try? state.snapshotCount(syncID: syncID))
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

  /// After the run: a copy out of step is rewritten from the state store's snapshot. A note for
  /// the run when the copy could not be kept or made current.
  func finish(_ run: RunRecord) -> String? {
    if inStep { return nil }
    let syncID = run.syncID
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
}

/// The state store, and the copy of the sync's snapshot a warehouse computes itself (Spark): after
/// a run that attempted every planned row, a new version is made from the model apply staged,
/// less the keys that failed. A run that stopped early leaves the copy at its version, which the
/// next plan sees differ from the state store's; it diffs in Backflow and the next apply makes a
/// new one. See docs/decisions.md ("Warehouse planning on Spark").
final class ComputedPlanningLedger: PlanningRunLedger, @unchecked Sendable {
  let state: StateStore
  private let copy: any ComputedPlanningSnapshots
  private let syncName: String
  /// Whether the sync logs read the staged model after the run, and drop it.
  private let keepsStage: Bool
  /// The keys of the rows the run failed; set on the snapshot writer's queue, read after it
  /// drained. Kept up to one past `unsentLimit`: past that, the copy is left for the next apply.
  private var unsent: Set<String> = []
  private var tooManyUnsent: Bool { unsent.count > Self.unsentLimit }
  /// Beyond this many failed keys, writing them to the warehouse as literals costs more than the
  /// next plan diffing in Backflow.
  static let unsentLimit = 10_000

  init(state: StateStore, copy: any ComputedPlanningSnapshots, syncName: String, keepsStage: Bool = false) {
    self.state = state
    self.copy = copy
    self.syncName = syncName
    self.keepsStage = keepsStage
  }

  func record(_ advance: SnapshotAdvance, syncID: Int, runID: Int) throws {
    try state.record(advance, syncID: syncID, runID: runID)
    for key in advance.failures.compactMap(\.key) where !tooManyUnsent {
      unsent.insert(key)
    }
  }

  func finish(_ run: RunRecord) -> String? {
    let stale = "the copy of the snapshot in \(copy.location) keeps its version, so the next plan diffs in Backflow "
      + "and the next apply makes it anew"
    guard run.status != .aborted, run.aborted.total == 0 else {
      return "warehouse planning: the run stopped before every planned row was attempted; " + stale
    }
    guard !tooManyUnsent else {
      return "warehouse planning: more than \(Self.unsentLimit) rows failed; " + stale
    }
    do {
      // Which failed keys the state store holds after the run: those whose change or removal
      // failed, and repeated keys whose planned row arrived.
      let held = try state.entries(syncID: run.syncID, keys: Array(unsent))
      try copy.publish(
        syncID: run.syncID, syncName: syncName, runID: run.id,
        unsent: Dictionary(uniqueKeysWithValues: unsent.map { ($0, held[$0] != nil) }),
        at: try Self.version(of: state, syncID: run.syncID), keepingStage: keepsStage)
      return nil
    } catch {
      return "warehouse planning: could not write the snapshot copy in \(copy.location) (\(error)); " + stale
    }
  }
}
