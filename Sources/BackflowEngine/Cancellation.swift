import Synchronization

/// Set when the user asks a run to stop (SIGINT, SIGTERM): no new batch is taken, batches in
/// flight finish, and every row not attempted is recorded as aborted.
public final class Cancellation: Sendable {
  private let flag = Atomic<Bool>(false)

  public init() {}

  public var isRequested: Bool { flag.load(ordering: .relaxed) }

  public func request() {
    flag.store(true, ordering: .relaxed)
  }
}
