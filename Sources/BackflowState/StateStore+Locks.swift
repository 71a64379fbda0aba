import BackflowConfig
import BackflowPostgres
import BackflowSQLite
import Foundation

/// Sync locks: one holder per sync across processes and machines sharing the store. On
/// PostgreSQL a session-level advisory lock does the locking and the `locks` row names the
/// holder; on SQLite the row is the lock, kept alive by a heartbeat.
extension StateStore {
  private static let lockColumns =
    "lock_id, sync_name, sync_id, operation, who, pid, backflow_version, since, heartbeat_at"

  /// Takes the lock of sync `name` on a connection of its own, waiting up to `timeout` (polling
  /// every `pollInterval`) while another process holds it. On SQLite a lock whose heartbeat is
  /// older than `staleAfter`, or whose process is gone from this host, belonged to a process
  /// that stopped and is taken over.
  ///
  /// Taking the lock marks the runs of the sync still `running` as `aborted`: whoever ran them
  /// held this lock, and no longer does. Throws `LockError`, naming the holder, when the lock
  /// stays taken, or when `isCancelled` says to stop waiting.
  public func lock(
    syncNamed name: String, syncID: Int?, owner: LockOwner, timeout: Duration = .zero,
    staleAfter: Duration = SyncLock.staleAfter, pollInterval: Duration = .milliseconds(250),
    isCancelled: () -> Bool = { false }
  ) async throws -> SyncLock {
    guard let writer else { throw StateError("locking sync \(name) needs the state store opened for writing") }
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    let cancelled = "stopped waiting for the lock of sync \(name): cancelled"
    var opened: LockConnection?
    while true {
      let connection = try opened ?? LockConnection(Self.openLockConnection(location, in: directory, syncName: name))
      opened = connection
      let attempt = try Self.attemptLock(
        name, syncID: syncID, owner: owner, writer: writer, staleAfter: staleAfter, on: connection.database)
      switch attempt {
      case let .acquired(record, takenOver, abortedRuns):
        return SyncLock(
          record: record, takenOver: takenOver, abortedRuns: abortedRuns, connection: connection,
          advisoryKey: connection.database.dialect == .postgres ? Self.advisoryKey(name) : nil)
      case let .held(holder):
        if isCancelled() { throw LockError(syncName: name, holder: holder, message: cancelled) }
        let now = clock.now
        guard now < deadline else {
          let message = Self.lockedMessage(name, holder: holder, waited: timeout)
          throw LockError(syncName: name, holder: holder, message: message)
        }
        do {
          try await Task.sleep(for: min(pollInterval, deadline - now))
        } catch {
          throw LockError(syncName: name, holder: holder, message: cancelled)
        }
      }
    }
  }

  /// The lock sync `name` is held with, if any.
  public func currentLock(syncNamed name: String) throws -> LockRecord? {
    guard database != nil, try locksTableExists() else { return nil }
    return try Self.readLock(name, on: connection, forUpdate: false)
  }

  /// Every lock held, by sync name.
  public func locks() throws -> [LockRecord] {
    guard database != nil, try locksTableExists() else { return [] }
    return try connection.query("SELECT \(Self.lockColumns) FROM \(try table("locks")) ORDER BY sync_name", [])
      .map(Self.lockRecord)
  }

  /// Removes the lock of sync `name` by hand, if its ID is `lockID`; for a holder that stopped
  /// without releasing it.
  ///
  /// On PostgreSQL a holder that is still connected keeps its advisory lock, which no other
  /// session can take: the sync stays locked until that process ends (`holderStillConnected`).
  /// Backflow never terminates another session.
  public func unlock(syncNamed name: String, lockID: String) throws -> UnlockResult {
    let database = try connection
    guard let current = try currentLock(syncNamed: name) else {
      throw StateError("sync \(name) is not locked: there is nothing to unlock")
    }
    guard current.id == lockID else {
      throw StateError(
        "\(lockID) is not the lock of sync \(name): its lock is \(current.id), held by \(current.holder). "
          + "If that process is gone, run `backflow unlock \(name) \(current.id)`")
    }
    var stillConnected = false
    if database.dialect == .postgres {
      let key = Self.advisoryKey(name)
      if try database.query("SELECT pg_try_advisory_lock($1::bigint)", [key]).first?.first == "t" {
        _ = try database.query("SELECT pg_advisory_unlock($1::bigint)", [key])
      } else {
        stillConnected = true
      }
    }
    try database.execute(
      "DELETE FROM \(try table("locks")) WHERE sync_name = $1 AND lock_id = $2", [name, lockID])
    return UnlockResult(lock: current, holderStillConnected: stillConnected)
  }

  /// Creates the locks table when it is missing: in new stores, and in version-1 stores written
  /// before locking existed.
  func ensureLocksTable() throws {
    guard try !locksTableExists() else { return }
    let database = try connection
    let create = """
      CREATE TABLE IF NOT EXISTS \(database.dialect.table("locks")) (
        sync_name TEXT PRIMARY KEY,
        lock_id TEXT NOT NULL,
        sync_id BIGINT,
        operation TEXT NOT NULL,
        who TEXT NOT NULL,
        pid BIGINT NOT NULL,
        backflow_version TEXT NOT NULL,
        since TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
      )
      """
    do {
      try database.execute(create)
    } catch {
      // Two processes creating it at once on PostgreSQL: one of them fails, and the table exists.
      guard try locksTableExists() else { throw error }
    }
  }

  private func locksTableExists() throws -> Bool {
    try tableExists("locks")
  }

  // MARK: Taking a lock

  private enum Attempt {
    case acquired(LockRecord, takenOver: LockRecord?, abortedRuns: [Int])
    case held(LockRecord?)
  }

  /// One try at the lock, atomic: an advisory lock then one transaction on PostgreSQL, one
  /// `BEGIN IMMEDIATE` transaction on SQLite.
  private static func attemptLock(
    _ name: String, syncID: Int?, owner: LockOwner, writer: String, staleAfter: Duration,
    on database: any StateDatabase
  ) throws -> Attempt {
    let now = StateStore.now()
    let record = LockRecord(
      id: UUID().uuidString.lowercased(), syncName: name, syncID: syncID, operation: owner.operation, who: owner.who,
      pid: owner.pid, backflowVersion: writer, since: now, heartbeatAt: now)
    switch database.dialect {
    case .postgres:
      let key = advisoryKey(name)
      guard try database.query("SELECT pg_try_advisory_lock($1::bigint)", [key]).first?.first == "t" else {
        return .held(try readLock(name, on: database, forUpdate: false))
      }
      do {
        return try inTransaction(database, begin: "BEGIN") {
          // Holding the advisory lock, any row left is a stopped holder's: a live one would hold it.
          let existing = try readLock(name, on: database, forUpdate: true)
          return try take(record, replacing: existing, on: database)
        }
      } catch {
        _ = try? database.query("SELECT pg_advisory_unlock($1::bigint)", [key])
        throw error
      }
    case .sqlite:
      return try inTransaction(database, begin: "BEGIN IMMEDIATE") {
        let existing = try readLock(name, on: database, forUpdate: false)
        if let existing, !isAbandoned(existing, staleAfter: staleAfter) { return .held(existing) }
        return try take(record, replacing: existing, on: database)
      }
    }
  }

  /// Writes `record` in place of `existing`, and marks the runs its holder left running aborted.
  private static func take(_ record: LockRecord, replacing existing: LockRecord?, on database: any StateDatabase) throws
    -> Attempt
  {
    let dialect = database.dialect
    if existing != nil {
      try database.execute("DELETE FROM \(dialect.table("locks")) WHERE sync_name = $1", [record.syncName])
    }
    let found = "\(record.who) found it when taking the lock at \(record.since)"
    let reason =
      if let existing {
        "the process running it stopped (\(existing.who), pid \(existing.pid), lock \(existing.id)); \(found)"
      } else {
        "the process running it stopped; \(found)"
      }
    let aborted = try database.query(
      """
      UPDATE \(dialect.table("runs")) SET status = $1, error = $2, finished_at = $3
      WHERE status = $4 AND sync_id IN (SELECT id FROM \(dialect.table("syncs")) WHERE name = $5 AND retired_at IS NULL)
      RETURNING id
      """,
      [RunRecord.Status.aborted.rawValue, reason, record.since, RunRecord.Status.running.rawValue, record.syncName]
    ).compactMap { $0.first.flatMap { $0.flatMap(Int.init) } }.sorted()
    try database.execute(
      "INSERT INTO \(dialect.table("locks")) (\(lockColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      [
        record.id, record.syncName, record.syncID.map(String.init), record.operation, record.who, String(record.pid),
        record.backflowVersion, record.since, record.heartbeatAt,
      ])
    return .acquired(record, takenOver: existing, abortedRuns: aborted)
  }

  private static func readLock(_ name: String, on database: any StateDatabase, forUpdate: Bool) throws -> LockRecord? {
    try database.query(
      "SELECT \(lockColumns) FROM \(database.dialect.table("locks")) WHERE sync_name = $1"
        + (forUpdate ? " FOR UPDATE" : ""),
      [name]
    ).first.map(lockRecord)
  }

  private static func lockRecord(_ row: [String?]) -> LockRecord {
    LockRecord(
      id: row[0] ?? "", syncName: row[1] ?? "", syncID: row[2].flatMap { Int($0) }, operation: row[3] ?? "",
      who: row[4] ?? "", pid: row[5].flatMap { Int($0) } ?? 0, backflowVersion: row[6] ?? "", since: row[7] ?? "",
      heartbeatAt: row[8] ?? "")
  }

  /// Whether a SQLite lock's holder has stopped: its process is gone from this machine, or its
  /// heartbeat is older than `staleAfter` (or cannot be read).
  private static func isAbandoned(_ lock: LockRecord, staleAfter: Duration) -> Bool {
    // A holder on this host whose pid no longer exists is gone: no need to wait for its
    // heartbeat to go stale (`apply` again right after a kill -9). A pid that exists, even
    // reused by another program, only means waiting for the heartbeat.
    let host = ProcessInfo.processInfo.hostName
    if !host.isEmpty, lock.who.hasSuffix("@\(host)") || lock.who == host, lock.pid > 0,
      kill(pid_t(lock.pid), 0) == -1, errno == ESRCH
    {
      return true
    }
    guard let beat = try? Date(lock.heartbeatAt, strategy: .iso8601) else { return true }
    return Date().timeIntervalSince(beat) > staleAfter.inSeconds
  }

  /// Runs `body` on `database` between `begin` and COMMIT, rolled back if it throws.
  static func inTransaction<Result>(
    _ database: any StateDatabase, begin: String, _ body: () throws -> Result
  ) throws -> Result {
    try database.execute(begin)
    do {
      let result = try body()
      try database.execute("COMMIT")
      return result
    } catch {
      try? database.execute("ROLLBACK")
      throw error
    }
  }

  /// A connection for one lock: on PostgreSQL its session holds the advisory lock.
  private static func openLockConnection(_ location: StateLocation, in directory: URL, syncName: String) throws
    -> any StateDatabase
  {
    do {
      switch location {
      case let .sqlite(path):
        return try SQLiteDatabase(path: directory.resolvingProjectPath(path).path)
      case let .postgres(conninfo):
        return try PostgresConnection(conninfo: conninfo)
      }
    } catch {
      throw StateError("could not connect to the state store to lock sync \(syncName): \(error)")
    }
  }

  /// The advisory lock key of a sync: FNV-1a (64 bits) of its name, so every process derives the
  /// same key, and a new sync, which has no ID yet, has one too.
  static func advisoryKey(_ syncName: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in "backflow_state.locks:\(syncName)".utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    return String(Int64(bitPattern: hash))
  }

  /// `sync users_to_crm is locked by root@host (pid 4242, apply, Backflow 0.1.0) since …; wait with
  /// --lock-timeout, or if that process is gone, `backflow unlock users_to_crm ID``.
  static func lockedMessage(_ name: String, holder: LockRecord?, waited: Duration) -> String {
    let locked = waited > .zero ? "still locked after waiting \(describe(waited))" : "locked"
    let wait = waited > .zero ? "wait longer with --lock-timeout" : "wait with --lock-timeout"
    guard let holder else {
      // PostgreSQL: the advisory lock is taken, but its row was removed by hand (or is being written).
      return "sync \(name) is \(locked) by another process whose lock record is gone "
        + "(removed with `backflow unlock`?): its PostgreSQL session keeps the sync locked until that process ends; \(wait), or stop that process"
    }
    return "sync \(name) is \(locked) by \(holder.holder); \(wait), or if that process is gone, "
      + "`backflow unlock \(name) \(holder.id)`"
  }

  /// `30s`, `1.5s`.
  private static func describe(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return attoseconds == 0 ? "\(seconds)s" : "\(Double(seconds) + Double(attoseconds) / 1e18)s"
  }
}
