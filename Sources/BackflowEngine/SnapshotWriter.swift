import BackflowState
import CBackflowMemory
import Dispatch

/// What a run has delivered since it last wrote: the snapshot's advance and the rows that failed.
public struct SnapshotAdvance: Sendable, Equatable {
  /// Changed rows that arrived: keys the snapshot holds.
  public var entries: [SnapshotEntry] = []
  /// Added rows that arrived and rows a CDC reset records: keys the snapshot does not hold.
  public var newEntries: [SnapshotEntry] = []
  /// Removed rows that the destination let go of.
  public var removedKeys: [String] = []
  public var failures: [FailedRow] = []
  /// The sync's typed copy, which changes with the snapshot; the entries carry its values.
  public var copy: TypedCopy?
  /// Unchanged rows whose values the typed copy lacked.
  public var refreshed: [SnapshotEntry] = []

  public init(copy: TypedCopy? = nil) {
    self.copy = copy
  }

  public var isEmpty: Bool { size == 0 && failures.isEmpty }
  var size: Int { entries.count + newEntries.count + removedKeys.count + refreshed.count }
}

/// Where a run records what arrived. The state store in production; memory in the batch loop's
/// tests, which then need no file or server.
public protocol RunLedger: AnyObject {
  /// Records `advance` in one transaction.
  func record(_ advance: SnapshotAdvance, syncID: Int, runID: Int) throws
  /// Mirror's first full sweep is done.
  func markSwept(syncID: Int) throws
  /// The ids kept for the rows of `keys` (compact JSON), by row key.
  func destinationIDs(syncID: Int, keys: [String]) throws -> [String: String]
}

extension StateStore: RunLedger {
  public func record(_ advance: SnapshotAdvance, syncID: Int, runID: Int) throws {
    try transaction {
      if advance.size > 0 {
        try updateSnapshot(
          syncID: syncID, entries: advance.entries, removedKeys: advance.removedKeys, newEntries: advance.newEntries,
          copy: advance.copy, refreshed: advance.refreshed)
      }
      try recordFailures(advance.failures, runID: runID, syncID: syncID)
    }
  }
}

/// Writes a run's state changes (the snapshot's advance and the failed rows) on a thread of its
/// own, one batch behind sending, so the next batch is read and sent while the state store
/// records the last one.
///
/// At most one write is in flight: `write` first waits for the one before. Order is kept, and each
/// write is still one transaction after the destination committed its batch, so the snapshot only
/// ever holds rows that arrived. A failed write is thrown by the next `write` or `drain`.
final class SnapshotWriter: @unchecked Sendable {
  private let ledger: any RunLedger
  private let syncID: Int
  private let runID: Int
  private let queue = DispatchQueue(label: "backflow.snapshot-writer")
  /// Set on `queue`, read after waiting for it.
  private var failure: (any Error)?

  init(ledger: any RunLedger, syncID: Int, runID: Int) {
    self.ledger = ledger
    self.syncID = syncID
    self.runID = runID
  }

  /// Waits for the write in flight, throws its error if it failed, then starts this one.
  func write(_ advance: SnapshotAdvance) throws {
    try drain()
    queue.async { [self] in
      do {
        try ledger.record(advance, syncID: syncID, runID: runID)
      } catch {
        failure = error
      }
      // The batch's rows are freed now; without this glibc keeps their pages, scattered among the
      // rows still in flight on several threads' arenas, and a run's peak RSS came to about twice
      // its peak heap. About 0.5 ms per batch, on this thread (docs/decisions.md, Performance).
      backflow_release_free_memory()
    }
  }

  /// The ids kept for the rows of `keys`, read after the writes in flight, on the writer's
  /// thread: the ledger is used by one thread at a time.
  func destinationIDs(_ keys: [String]) throws -> [String: String] {
    try drain()
    return try queue.sync { try ledger.destinationIDs(syncID: syncID, keys: keys) }
  }

  /// Waits until every write started has ended; throws the error of one that failed.
  func drain() throws {
    queue.sync {}
    if let failure {
      self.failure = nil
      throw failure
    }
  }
}
