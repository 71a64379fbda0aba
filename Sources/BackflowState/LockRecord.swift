import Foundation

/// A sync's lock as state records it: which lock, who holds it, doing what, since when.
public struct LockRecord: Sendable, Equatable {
  /// The lock ID `backflow unlock` takes: random, never reused.
  public var id: String
  public var syncName: String
  /// `nil` while the sync has no ID yet (its first apply).
  public var syncID: Int?
  /// What the holder does: `apply`, `daemon`…
  public var operation: String
  /// `user@host` of the holder.
  public var who: String
  public var pid: Int
  public var backflowVersion: String
  public var since: String
  /// When the holder last said it is alive (SQLite state; on PostgreSQL, when it took the lock).
  public var heartbeatAt: String

  public init(
    id: String, syncName: String, syncID: Int?, operation: String, who: String, pid: Int, backflowVersion: String,
    since: String, heartbeatAt: String
  ) {
    self.id = id
    self.syncName = syncName
    self.syncID = syncID
    self.operation = operation
    self.who = who
    self.pid = pid
    self.backflowVersion = backflowVersion
    self.since = since
    self.heartbeatAt = heartbeatAt
  }

  /// `root@host (pid 4242, apply, Backflow 0.1.0) since 2026-05-01T12:00:00Z`.
  public var holder: String {
    "\(who) (pid \(pid), \(operation), Backflow \(backflowVersion)) since \(since)"
  }
}

/// Who takes a lock and for what, as the lock row records it.
public struct LockOwner: Sendable, Equatable {
  public var operation: String
  public var who: String
  public var pid: Int

  public init(operation: String, who: String, pid: Int) {
    self.operation = operation
    self.who = who
    self.pid = pid
  }

  /// This process, doing `operation`: `user@host` (the user from the system's account database,
  /// `USER` when it has none) and its pid.
  public static func current(
    operation: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> LockOwner {
    var user = environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
      user = String(cString: name)
    }
    let host = ProcessInfo.processInfo.hostName
    let who = host.isEmpty ? user : "\(user)@\(host)"
    return LockOwner(operation: operation, who: who, pid: Int(ProcessInfo.processInfo.processIdentifier))
  }
}

/// What `StateStore.unlock` removed.
public struct UnlockResult: Sendable, Equatable {
  public var lock: LockRecord
  /// On PostgreSQL, whether the holder's session still holds its advisory lock: it keeps the sync
  /// locked until that process ends. Always false on SQLite.
  public var holderStillConnected: Bool
}
