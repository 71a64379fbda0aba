import BackflowEngine
import BackflowState
import Synchronization

/// A state store's snapshot and failed rows in memory: what a `SyncRun` records, with nothing
/// written anywhere.
public final class MemoryLedger: RunLedger, Sendable {
  private struct Contents {
    var snapshot: [String: SnapshotEntry] = [:]
    var failures: [FailedRow] = []
    var writes = 0
    var swept = false
    var fault: String?
  }

  private let contents: Mutex<Contents>

  /// Starts with `snapshot`, as a state store that earlier runs advanced.
  public init(snapshot: [SnapshotEntry] = []) {
    contents = Mutex(Contents(snapshot: Dictionary(snapshot.map { ($0.key, $0) }) { _, last in last }))
  }

  public func record(_ advance: SnapshotAdvance, syncID: Int, runID: Int) throws {
    try contents.withLock { contents in
      if let fault = contents.fault { throw StateError(fault) }
      // As the state store does: a new entry for a key it holds is a broken plan, not an update.
      for entry in advance.newEntries where contents.snapshot[entry.key] != nil {
        throw StateError("the snapshot already holds \(entry.key)")
      }
      for var entry in advance.entries + advance.newEntries {
        // As the state store does: no id replaces a kept one.
        entry.destinationID = entry.destinationID ?? contents.snapshot[entry.key]?.destinationID
        contents.snapshot[entry.key] = entry
      }
      for key in advance.removedKeys { contents.snapshot[key] = nil }
      contents.failures += advance.failures
      contents.writes += 1
    }
  }

  public func markSwept(syncID: Int) throws {
    contents.withLock { $0.swept = true }
  }

  public func destinationIDs(syncID: Int, keys: [String]) throws -> [String: String] {
    contents.withLock { contents in
      var found: [String: String] = [:]
      for key in keys { found[key] = contents.snapshot[key]?.destinationID }
      return found
    }
  }

  /// Makes every later write fail with `message`, as a state store that went away.
  public func fail(_ message: String?) {
    contents.withLock { $0.fault = message }
  }

  public var snapshot: [String: SnapshotEntry] { contents.withLock { $0.snapshot } }
  public var failures: [FailedRow] { contents.withLock { $0.failures } }
  /// Transactions recorded.
  public var writes: Int { contents.withLock { $0.writes } }
  public var swept: Bool { contents.withLock { $0.swept } }
}
