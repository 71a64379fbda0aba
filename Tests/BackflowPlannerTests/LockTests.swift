import BackflowConfig
import BackflowPostgres
import BackflowSQLite
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Sync locks in the state store, on SQLite and PostgreSQL, with two stores open as two
/// processes would have them.
@Suite("sync locks")
struct LockTests {
  static let ada = LockOwner(operation: "apply", who: "ada@laptop", pid: 4242)
  static let bob = LockOwner(operation: "apply", who: "bob@ci", pid: 7)

  /// Opens the same new state store twice for writing: `first` and `second` stand for two processes.
  func withStores(
    _ backend: Backend, _ body: (_ first: StateStore, _ second: StateStore, _ raw: () throws -> RawState) async throws -> Void
  ) async throws {
    try await withTemporaryDirectory { directory in
      let database = backend == .postgres ? try PostgresDatabase.create("locks") : nil
      let location: StateLocation = database.map { .postgres(conninfo: $0.url) } ?? .sqlite(path: "state.db")
      let first = try StateStore.open(location, in: directory, writer: "0.1.0")
      let second = try StateStore.open(location, in: directory, writer: "0.1.0")
      try await body(first, second) {
        if let database { return .postgres(try database.connect()) }
        return .sqlite(try SQLiteDatabase(path: directory.appendingPathComponent("state.db").path))
      }
    }
  }

  /// The state's tables, reached without Backflow: to write what a killed process leaves behind.
  enum RawState {
    case sqlite(SQLiteDatabase)
    case postgres(PostgresConnection)

    func execute(_ sql: String) throws {
      switch self {
      case let .sqlite(database): try database.execute(sql)
      case let .postgres(connection): try connection.execute(sql)
      }
    }

    /// `locks` on SQLite, `backflow_state.locks` on PostgreSQL.
    func table(_ name: String) -> String {
      if case .postgres = self { "backflow_state.\(name)" } else { name }
    }
  }

  func expectLocked(
    _ store: StateStore, by holder: SyncLock, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) async throws {
    let error = await #expect(throws: LockError.self, sourceLocation: sourceLocation) {
      try await store.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.bob)
    }
    #expect(error?.holder == holder.record, sourceLocation: sourceLocation)
    #expect(
      error?.message
        == "sync users_to_crm is locked by ada@laptop (pid 4242, apply, Backflow 0.1.0) since \(holder.record.since); "
        + "wait with --lock-timeout, or if that process is gone, `backflow unlock users_to_crm \(holder.record.id)`",
      sourceLocation: sourceLocation)
  }

  @Test(arguments: Backend.allCases)
  func aSecondAcquirerFailsAtOnceNamingTheHolder(backend: Backend) async throws {
    guard backend.available else { return }
    try await withStores(backend) { first, second, _ in
      let lock = try await first.lock(syncNamed: "users_to_crm", syncID: 3, owner: Self.ada)
      #expect(lock.record.who == "ada@laptop" && lock.record.pid == 4242 && lock.record.syncID == 3)
      #expect(lock.record.backflowVersion == "0.1.0" && lock.takenOver == nil && lock.abortedRuns.isEmpty)
      #expect(try second.currentLock(syncNamed: "users_to_crm") == lock.record)
      try await expectLocked(second, by: lock)
      // Another sync is not in the way.
      let other = try await second.lock(syncNamed: "orders_to_crm", syncID: nil, owner: Self.bob)
      #expect(try first.locks().map(\.syncName) == ["orders_to_crm", "users_to_crm"])
      lock.release()
      other.release()
      #expect(!lock.wasLost && !other.wasLost)
      #expect(try first.locks().isEmpty)
      let again = try await second.lock(syncNamed: "users_to_crm", syncID: 3, owner: Self.bob)
      #expect(again.record.who == "bob@ci" && again.record.id != lock.record.id)
      again.release()
    }
  }

  @Test(arguments: Backend.allCases)
  func aWaiterGetsTheLockOnceTheHolderReleasesIt(backend: Backend) async throws {
    guard backend.available else { return }
    try await withStores(backend) { first, second, _ in
      let lock = try await first.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
      let releaser = ThreadJob(after: .milliseconds(300)) { lock.release() }
      let waited = try await second.lock(
        syncNamed: "users_to_crm", syncID: nil, owner: Self.bob, timeout: .seconds(60), pollInterval: .milliseconds(50))
      try await releaser.value()
      #expect(waited.record.who == "bob@ci" && waited.takenOver == nil)
      // The same lock: its heartbeat may have moved on since it was taken, on a busy machine.
      let current = try first.currentLock(syncNamed: "users_to_crm")
      #expect(current?.id == waited.record.id && current?.since == waited.record.since)
      waited.release()
    }
  }

  @Test(arguments: Backend.allCases)
  func aWaiterThatTimesOutSaysHowLongItWaited(backend: Backend) async throws {
    guard backend.available else { return }
    try await withStores(backend) { first, second, _ in
      let lock = try await first.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
      let error = await #expect(throws: LockError.self) {
        try await second.lock(
          syncNamed: "users_to_crm", syncID: nil, owner: Self.bob, timeout: .milliseconds(200), pollInterval: .milliseconds(50))
      }
      #expect(error?.message.hasPrefix("sync users_to_crm is still locked after waiting 0.2s by ada@laptop (pid 4242") == true)
      #expect(error?.message.contains("wait longer with --lock-timeout") == true)
      lock.release()
    }
  }

  /// What a killed holder leaves: its lock row and a run still `running`. On SQLite the row is
  /// taken over once its heartbeat is stale; on PostgreSQL as soon as no session holds the
  /// advisory lock.
  @Test(arguments: Backend.allCases)
  func aStoppedHoldersLockIsTakenOverAndItsRunsMarkedAborted(backend: Backend) async throws {
    guard backend.available else { return }
    try await withStores(backend) { first, second, raw in
      let syncID = try first.register(syncNamed: "users_to_crm")
      let left = try first.startRun(syncID: syncID, gitCommit: nil, rowsQueried: 3, planned: OperationCounts(add: 3))
      let now = Date().formatted(.iso8601)
      try raw().execute(
        """
        INSERT INTO \(try raw().table("locks")) VALUES ('users_to_crm', 'dead-lock', \(syncID), 'apply', 'ghost@elsewhere',
          99, '0.0.9', '\(now)', '\(now)')
        """)
      if backend == .sqlite {
        // A fresh heartbeat is a live holder's.
        let error = await #expect(throws: LockError.self) {
          try await second.lock(syncNamed: "users_to_crm", syncID: syncID, owner: Self.bob)
        }
        #expect(error?.holder?.id == "dead-lock" && error?.message.contains("ghost@elsewhere (pid 99, apply, Backflow 0.0.9)") == true)
        let old = Date().addingTimeInterval(-31).formatted(.iso8601)
        try raw().execute("UPDATE locks SET heartbeat_at = '\(old)'")
      }
      let lock = try await second.lock(syncNamed: "users_to_crm", syncID: syncID, owner: Self.bob)
      #expect(lock.takenOver?.id == "dead-lock" && lock.takenOver?.pid == 99)
      #expect(lock.abortedRuns == [left])
      let run = try #require(try first.run(id: left))
      #expect(run.status == .aborted && run.finishedAt != nil)
      #expect(run.error?.hasPrefix("the process running it stopped (ghost@elsewhere, pid 99, lock dead-lock); bob@ci found it") == true)
      #expect(try first.currentLock(syncNamed: "users_to_crm") == lock.record)
      lock.release()
    }
  }

  /// On SQLite a holder on this host whose process is gone is taken over without waiting for its
  /// heartbeat to go stale; one whose process runs is not.
  @Test func aHolderWhoseProcessIsGoneFromThisHostIsTakenOverAtOnce() async throws {
    try await withStores(.sqlite) { _, second, raw in
      let host = ProcessInfo.processInfo.hostName
      let finished = Process()
      finished.executableURL = URL(fileURLWithPath: "/bin/sh")
      finished.arguments = ["-c", "exit 0"]
      try finished.run()
      finished.waitUntilExit()
      let now = Date().formatted(.iso8601)
      let alive = ProcessInfo.processInfo.processIdentifier
      try raw().execute(
        "INSERT INTO locks VALUES ('users_to_crm', 'live-lock', NULL, 'apply', 'me@\(host)', \(alive), '0.1.0', '\(now)', '\(now)')")
      let error = await #expect(throws: LockError.self) {
        try await second.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.bob)
      }
      #expect(error?.holder?.id == "live-lock")
      try raw().execute("UPDATE locks SET lock_id = 'dead-lock', pid = \(finished.processIdentifier)")
      let lock = try await second.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.bob)
      #expect(lock.takenOver?.id == "dead-lock")
      lock.release()
    }
  }

  @Test(arguments: Backend.allCases)
  func unlockRefusesAnotherIDAndRemovesTheRightOne(backend: Backend) async throws {
    guard backend.available else { return }
    try await withStores(backend) { first, second, _ in
      let unlocked = #expect(throws: StateError.self) { try second.unlock(syncNamed: "users_to_crm", lockID: "nope") }
      #expect(unlocked?.message == "sync users_to_crm is not locked: there is nothing to unlock")
      let lock = try await first.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
      let wrong = #expect(throws: StateError.self) { try second.unlock(syncNamed: "users_to_crm", lockID: "nope") }
      #expect(
        wrong?.message
          == "nope is not the lock of sync users_to_crm: its lock is \(lock.record.id), held by \(lock.record.holder). "
          + "If that process is gone, run `backflow unlock users_to_crm \(lock.record.id)`")
      #expect(try second.currentLock(syncNamed: "users_to_crm") == lock.record)

      let result = try second.unlock(syncNamed: "users_to_crm", lockID: lock.record.id)
      #expect(result.lock == lock.record)
      #expect(try second.currentLock(syncNamed: "users_to_crm") == nil)
      if backend == .postgres {
        // The holder is still connected: its session lock stands, and nobody else can take it.
        #expect(result.holderStillConnected)
        let error = await #expect(throws: LockError.self) {
          try await second.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.bob)
        }
        #expect(error?.holder == nil && error?.message.contains("whose lock record is gone") == true)
        lock.release()
      } else {
        #expect(!result.holderStillConnected)
        lock.release()
      }
      #expect(lock.wasLost)
      let taken = try await second.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.bob)
      #expect(taken.record.who == "bob@ci")
      taken.release()
    }
  }

  @Test func aHeldLockOnSQLiteKeepsItsHeartbeatFresh() async throws {
    try await withStores(.sqlite) { first, second, _ in
      let lock = try await first.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
      let deadline = Date().addingTimeInterval(30)
      while try second.currentLock(syncNamed: "users_to_crm")?.heartbeatAt == lock.record.heartbeatAt, Date() < deadline {
        try await Task.sleep(for: .milliseconds(200))
      }
      let current = try #require(try second.currentLock(syncNamed: "users_to_crm"))
      #expect(current.heartbeatAt > lock.record.heartbeatAt && current.since == lock.record.since)
      lock.release()
    }
  }

  /// A version-1 store written before locking existed has no `locks` table: reading sees no
  /// locks, and the first open for writing creates it.
  @Test(arguments: Backend.allCases)
  func aStoreWrittenBeforeLockingGetsItsLocksTableWhenOpenedForWriting(backend: Backend) async throws {
    guard backend.available else { return }
    try await withTemporaryDirectory { directory in
    let database = backend == .postgres ? try PostgresDatabase.create("oldlocks") : nil
    let location: StateLocation = database.map { .postgres(conninfo: $0.url) } ?? .sqlite(path: "state.db")
    let old = try StateStore.open(location, in: directory, writer: "0.0.9")
    _ = try old.register(syncNamed: "users_to_crm")
    if let database {
      try database.connect().execute("DROP TABLE backflow_state.locks")
    } else {
      try SQLiteDatabase(path: directory.appendingPathComponent("state.db").path).execute("DROP TABLE locks")
    }
    let reader = try StateStore.open(location, in: directory)
    #expect(try reader.locks().isEmpty && reader.currentLock(syncNamed: "users_to_crm") == nil)
    let writer = try StateStore.open(location, in: directory, writer: "0.1.0")
    #expect(try writer.syncs().map(\.name) == ["users_to_crm"])
    let lock = try await writer.lock(syncNamed: "users_to_crm", syncID: 1, owner: Self.ada)
    #expect(try reader.locks() == [lock.record])
    lock.release()
    }
  }

  @Test func lockingNeedsAStoreOpenedForWriting() async throws {
    try await withTemporaryDirectory { directory in
      _ = try StateStore.open(.sqlite(path: "state.db"), in: directory, writer: "0.1.0")
      let reader = try StateStore.open(.sqlite(path: "state.db"), in: directory)
      await #expect(throws: StateError.self) {
        try await reader.lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
      }
    }
  }
}
