import CADBC
import Dispatch
import Foundation

/// A statement's time limit: once it passes, `AdbcStatementCancel` is called from another thread
/// (the one call the ADBC specification allows while a statement runs), and the statement's stream
/// stops at its next batch even on a driver that cannot cancel.
final class StatementDeadline: @unchecked Sendable {
  private let lock = NSLock()
  private var armed = true
  private var reached = false
  private var failure: String?
  private var timer: DispatchWorkItem?

  /// Arms the limit for `statement`; `disarm()` must run before the statement is released.
  init(_ limit: Duration, statement: UnsafeMutablePointer<AdbcStatement>, cancel driver: AdbcDriver) {
    let timer = DispatchWorkItem { [weak self] in self?.expire(statement, driver) }
    self.timer = timer
    let (seconds, attoseconds) = limit.components
    let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: timer)
  }

  /// Whether the limit has passed, and the driver's reason when it could not cancel then.
  var state: (reached: Bool, cancelFailure: String?) { lock.withLock { (reached, failure) } }

  /// Stops the timer; once this returns, the statement is not touched again.
  func disarm() {
    lock.withLock { armed = false }
    timer?.cancel()
  }

  private func expire(_ statement: UnsafeMutablePointer<AdbcStatement>, _ driver: AdbcDriver) {
    lock.withLock {
      guard armed else { return }
      reached = true
      // A driver that cannot cancel (adbc_driver_sqlite) runs on; its next answer is dropped.
      do {
        try adbcCall("cancel") { driver.StatementCancel?(statement, $0) ?? .notImplemented }
      } catch {
        failure = (error as? ADBCError)?.message ?? "\(error)"
      }
    }
  }
}
