import Foundation

/// A resource whose calls block (a libpq connection, a SQLite handle), kept on a serial queue of
/// its own: Swift's cooperative threads, as few as the machine's cores, never wait on the
/// network or a lock, and the resource is only ever used by one thread at a time.
public final class BlockingQueue<Resource>: @unchecked Sendable {
  // @unchecked: `resource` is only read or written by blocks running on `queue`, one at a time.

  private let queue: DispatchQueue
  private var resource: Resource?

  public init(label: String) {
    queue = DispatchQueue(label: label)
  }

  /// Runs `body` on the queue with the resource, which it may open (from `nil`) or close (to
  /// `nil`), and returns its result once it has run.
  public func run<T: Sendable>(_ body: @escaping @Sendable (inout Resource?) throws -> T) async throws
    -> T
  {
    try await withCheckedThrowingContinuation { continuation in
      queue.async {
        continuation.resume(with: Result { try body(&self.resource) })
      }
    }
  }

  /// Releases the resource, on the queue, after every block already queued.
  public func close() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      queue.async {
        self.resource = nil
        continuation.resume()
      }
    }
  }
}
