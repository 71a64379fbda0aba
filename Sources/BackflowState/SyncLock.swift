import Dispatch
import Synchronization

/// The lock on one sync, held on a state connection of its own until `release()` (or until the
/// process ends: PostgreSQL drops a dead session's advisory lock, SQLite's heartbeat goes stale).
public final class SyncLock: Sendable {
  /// How often a holder on SQLite state says it is alive.
  public static let heartbeatInterval: Duration = .seconds(5)
  /// How old a SQLite lock's heartbeat must be before another process takes it over: six missed
  /// heartbeats, so a holder stalled by a busy disk is not taken for dead.
  public static let staleAfter: Duration = .seconds(30)

  /// The lock as recorded.
  public let record: LockRecord
  /// The lock of a holder that stopped without releasing it, which this one replaced.
  public let takenOver: LockRecord?
  /// Runs the stopped holder left `running`, now marked `aborted`.
  public let abortedRuns: [Int]

  private let held: Mutex<Held>
  private let table: String
  /// The PostgreSQL advisory lock key; `nil` on SQLite.
  private let advisoryKey: String?

  private struct Held {
    var connection: LockConnection?
    var heartbeat: (any DispatchSourceTimer)?
    var lost = false
  }

  init(
    record: LockRecord, takenOver: LockRecord?, abortedRuns: [Int], connection: LockConnection, advisoryKey: String?
  ) {
    self.record = record
    self.takenOver = takenOver
    self.abortedRuns = abortedRuns
    self.advisoryKey = advisoryKey
    table = connection.database.dialect.table("locks")
    held = Mutex(Held(connection: connection))
    if advisoryKey == nil { startHeartbeat() }
  }

  deinit {
    release()
  }

  /// Whether the lock row disappeared or changed hands while held (`backflow unlock`, or a
  /// takeover after the heartbeat could not be written for `staleAfter`); known for certain
  /// after `release()`.
  public var wasLost: Bool {
    held.withLock { $0.lost }
  }

  /// Removes the lock row and frees the lock; later calls do nothing.
  public func release() {
    held.withLock { held in
      held.heartbeat?.cancel()
      held.heartbeat = nil
      guard let database = held.connection?.database else { return }
      // The row goes first: whoever gets the advisory lock next must not find it and take it for
      // a dead holder's.
      let removed = try? database.query(
        "DELETE FROM \(table) WHERE sync_name = $1 AND lock_id = $2 RETURNING lock_id", [record.syncName, record.id])
      if removed?.isEmpty == true { held.lost = true }
      if let advisoryKey {
        _ = try? database.query("SELECT pg_advisory_unlock($1::bigint)", [advisoryKey])
      }
      // Closing the connection frees a session lock even if the unlock above failed.
      held.connection = nil
    }
  }

  private func startHeartbeat() {
    let interval = DispatchTimeInterval.milliseconds(Int(Self.heartbeatInterval.components.seconds * 1000))
    held.withLock { held in
      let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
      timer.schedule(deadline: .now() + interval, repeating: interval)
      timer.setEventHandler { [weak self] in self?.beat() }
      timer.resume()
      held.heartbeat = timer
    }
  }

  /// Stamps the heartbeat; a row that is gone or not ours any more marks the lock lost. A write
  /// that fails (the file busy for longer than SQLite waits) is retried on the next beat.
  private func beat() {
    held.withLock { held in
      guard let database = held.connection?.database else { return }
      guard
        let rows = try? database.query(
          "UPDATE \(table) SET heartbeat_at = $1 WHERE sync_name = $2 AND lock_id = $3 RETURNING lock_id",
          [StateStore.now(), record.syncName, record.id])
      else { return }
      if rows.isEmpty { held.lost = true }
    }
  }
}

/// The state connection a lock is taken and held on.
///
/// A connection is not `Sendable`; this one is used by one task while the lock is taken, then
/// only under `SyncLock`'s mutex (the heartbeat runs on another thread).
final class LockConnection: @unchecked Sendable {
  let database: any StateDatabase

  init(_ database: any StateDatabase) {
    self.database = database
  }
}
