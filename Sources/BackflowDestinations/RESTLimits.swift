import Foundation

/// A rest destination's `rate` and `concurrency`, shared by every sync and batch that sends to
/// it in this process: the API's limit is per account, not per sync.
public actor RESTLimits {
  private static let registry = Registry()

  private var bucket: TokenBucket?
  private let concurrency: Int
  private var inFlight = 0
  private var waiting: [CheckedContinuation<Void, Never>] = []
  private let start = ContinuousClock.now

  init(rate: Double?, concurrency: Int) {
    self.concurrency = max(1, concurrency)
    bucket = rate.map { TokenBucket(rate: $0, now: 0) }
  }

  /// The limits of the destination `name`, made on first use with these settings.
  static func shared(destination name: String, rate: Double?, concurrency: Int) -> RESTLimits {
    registry.limits("\(name) \(rate ?? 0) \(concurrency)") { RESTLimits(rate: rate, concurrency: concurrency) }
  }

  /// Waits for a free request slot; `release()` gives it back.
  func acquire() async {
    if inFlight < concurrency {
      inFlight += 1
      return
    }
    await withCheckedContinuation { waiting.append($0) }
  }

  func release() {
    if waiting.isEmpty {
      inFlight -= 1
    } else {
      // The slot passes straight to the next waiter.
      waiting.removeFirst().resume()
    }
  }

  /// Waits for the rate's next token: before every attempt, retries included.
  func paced() async throws {
    guard var bucket else { return }
    let wait = bucket.take(now: (ContinuousClock.now - start).inSeconds)
    self.bucket = bucket
    if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
  }

  /// Destination name → its limits, behind a lock: looked up once per connector.
  private final class Registry: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: RESTLimits] = [:]

    func limits(_ name: String, make: () -> RESTLimits) -> RESTLimits {
      lock.lock()
      defer { lock.unlock() }
      if let found = entries[name] { return found }
      let made = make()
      entries[name] = made
      return made
    }
  }
}
