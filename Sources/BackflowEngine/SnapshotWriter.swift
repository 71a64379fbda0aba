import BackflowState
import Dispatch

/// Writes a run's state changes (the snapshot's advance and the failed rows) on a thread of its
/// own, one batch behind sending, so the next batch is read and sent while the state store
/// records the last one.
///
/// At most one write is in flight: `write` first waits for the one before. Order is kept, and each
/// write is still one transaction after the destination committed its batch, so the snapshot only
/// ever holds rows that arrived. A failed write is thrown by the next `write` or `drain`.
final class SnapshotWriter: @unchecked Sendable {
  private let state: StateStore
  private let syncID: Int
  private let runID: Int
  private let queue = DispatchQueue(label: "backflow.snapshot-writer")
  /// Set on `queue`, read after waiting for it.
  private var failure: (any Error)?

  init(state: StateStore, syncID: Int, runID: Int) {
    self.state = state
    self.syncID = syncID
    self.runID = runID
  }

  /// Waits for the write in flight, throws its error if it failed, then starts this one.
  /// `newEntries` are rows the snapshot does not hold yet (`StateStore.updateSnapshot`).
  func write(entries: [SnapshotEntry], newEntries: [SnapshotEntry], removedKeys: [String], failures: [FailedRow]) throws {
    try drain()
    queue.async { [self] in
      do {
        try Self.write(
          entries: entries, newEntries: newEntries, removedKeys: removedKeys, failures: failures, to: state,
          syncID: syncID, runID: runID)
      } catch {
        failure = error
      }
    }
  }

  /// Waits until every write started has ended; throws the error of one that failed.
  func drain() throws {
    queue.sync {}
    if let failure {
      self.failure = nil
      throw failure
    }
  }

  /// One write, in one transaction.
  static func write(
    entries: [SnapshotEntry], newEntries: [SnapshotEntry], removedKeys: [String], failures: [FailedRow],
    to state: StateStore, syncID: Int, runID: Int
  ) throws {
    try state.transaction {
      if !entries.isEmpty || !newEntries.isEmpty || !removedKeys.isEmpty {
        try state.updateSnapshot(syncID: syncID, entries: entries, removedKeys: removedKeys, newEntries: newEntries)
      }
      try state.recordFailures(failures, runID: runID, syncID: syncID)
    }
  }
}
