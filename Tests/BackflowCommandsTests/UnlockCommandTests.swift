import ArgumentParser
import BackflowCommands
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow unlock SYNC LOCK_ID` and `--lock-timeout`, run as a user runs them.
@Suite("backflow unlock")
struct UnlockCommandTests {
  static let ada = LockOwner(operation: "apply", who: "ada@laptop", pid: 4242)

  func backflow(_ arguments: [String], _ scenario: Scenario) throws -> BackflowProcess.Output {
    try BackflowProcess.run(arguments, in: scenario.directory, environment: scenario.environment)
  }

  @Test(arguments: Backend.allCases)
  func aWrongIDIsRefusedWithTheCurrentLockAndTheRightOneIsRemoved(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend, label: "unlock")
    try scenario.insert([(1, "a@example.com", "A", "pro")])
    let notLocked = try backflow(["unlock", "users_to_crm", "0f0f"], scenario)
    #expect(notLocked.status == 1 && notLocked.stderr.contains("error: sync users_to_crm is not locked: there is nothing to unlock"))

    let lock = try await scenario.openState(writing: true).lock(syncNamed: "users_to_crm", syncID: nil, owner: Self.ada)
    let wrong = try backflow(["unlock", "users_to_crm", "0f0f"], scenario)
    #expect(wrong.status == 1)
    #expect(
      wrong.stderr
        == "error: 0f0f is not the lock of sync users_to_crm: its lock is \(lock.record.id), held by ada@laptop (pid 4242, "
        + "apply, Backflow test) since \(lock.record.since). If that process is gone, run `backflow unlock users_to_crm \(lock.record.id)`\n")
    #expect(try scenario.openState().currentLock(syncNamed: "users_to_crm") == lock.record)

    let removed = try backflow(["unlock", "users_to_crm", lock.record.id], scenario)
    #expect(removed.status == 0, "\(removed.stderr)")
    #expect(removed.stdout.hasPrefix("Removed lock \(lock.record.id) of sync users_to_crm, held by \(lock.record.holder).\n"))
    #expect(try scenario.openState().currentLock(syncNamed: "users_to_crm") == nil)
    if backend == .postgres {
      // The holder's session is alive and keeps its advisory lock: applies stay locked until it ends.
      #expect(removed.stdout.contains("still connected to the PostgreSQL state store and keeps its session lock"))
      let blocked = try backflow(["apply", "--auto-approve"], scenario)
      #expect(blocked.status == 1 && blocked.stdout.contains("whose lock record is gone"), "\(blocked.stdout)")
    } else {
      #expect(removed.stdout.contains("The next apply of users_to_crm takes the lock"))
    }
    lock.release()
    #expect(lock.wasLost)
    let applied = try backflow(["apply", "--auto-approve"], scenario)
    #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
    #expect(try scenario.crmRows("select count(*) from contacts") == [["1"]])
  }

  @Test func lockTimeoutTakesDurationsAndZero() throws {
    #expect(try LockOptions.parse([]).lockTimeout == .zero)
    #expect(try LockOptions.parse(["--lock-timeout", "0s"]).lockTimeout == .zero)
    #expect(try LockOptions.parse(["--lock-timeout", "0"]).lockTimeout == .zero)
    #expect(try LockOptions.parse(["--lock-timeout", "30s"]).lockTimeout == .seconds(30))
    #expect(try LockOptions.parse(["--lock-timeout", "1h30m"]).lockTimeout == .seconds(5400))
    for bad in ["soon", "-5s", "5", "0x"] {
      #expect(throws: (any Error).self, "\(bad)") { try LockOptions.parse(["--lock-timeout", bad]) }
    }
  }
}
