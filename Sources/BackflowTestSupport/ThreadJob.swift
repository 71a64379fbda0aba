import BackflowConfig
import Foundation

/// Work on a thread of its own, started at once. Swift's cooperative pool has as many threads as
/// cores (two here), and a test that blocks one of them (waiting on a lock, a process, a socket)
/// can starve a `Task` that was to release what another test waits for; a thread is always there.
public final class ThreadJob: @unchecked Sendable {
  // @unchecked: `failure` is written once by the job's thread before `group` leaves, and read after.
  private let group = DispatchGroup()
  private var failure: (any Error)?

  /// Runs `body` after `delay` on a new thread.
  public init(after delay: Duration = .zero, _ body: @escaping @Sendable () throws -> Void) {
    group.enter()
    Thread.detachNewThread { [self] in
      Thread.sleep(forTimeInterval: delay.inSeconds)
      do {
        try body()
      } catch {
        failure = error
      }
      group.leave()
    }
  }

  /// Waits, without holding a thread, until the job has run; rethrows its error.
  public func value() async throws {
    await withCheckedContinuation { continuation in
      group.notify(queue: .global()) { continuation.resume() }
    }
    if let failure { throw failure }
  }
}

/// Runs blocking work (a child process) on a thread of its own and returns its result, so that an
/// async test does not hold one of the few threads every test's tasks share.
public func onThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
  }
}

/// Runs an async test body whose blocking calls (a Spark query of several seconds, a synchronous
/// plan) would otherwise hold a cooperative thread: the body's task, and every child task without a
/// preference of its own, runs on a serial queue of its own instead of the shared pool.
public func withAThreadOfItsOwn<T>(_ body: () async throws -> T) async throws -> T {
  try await withTaskExecutorPreference(QueueExecutor()) { try await body() }
}

/// A task executor running its jobs one at a time on a dispatch queue, off the cooperative pool.
private final class QueueExecutor: TaskExecutor, @unchecked Sendable {
  // @unchecked: the queue is the only state, and dispatch queues are thread-safe.
  private let queue = DispatchQueue(label: "backflow.test.blocking")

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
  }
}

/// Holds every thread of Swift's shared pool for `duration`, as tasks that block do (a libpq
/// query, an fsync, a child process): a job queued meanwhile, such as a time-out's task, waits
/// that long. For tests of what must keep its time without the pool. Returns at once.
public func holdTheSharedPool(for duration: Duration) {
  let until = Date().addingTimeInterval(duration.inSeconds)
  // More jobs than the pool has threads (one per core), so every thread gets one.
  for _ in 0..<(ProcessInfo.processInfo.processorCount * 4) {
    Task.detached { block(until: until) }
  }
}

/// Blocks the calling thread, which a task may not do directly (`Thread.sleep` is unavailable
/// from async code): here holding the thread is the point.
private func block(until date: Date) {
  Thread.sleep(until: date)
}
