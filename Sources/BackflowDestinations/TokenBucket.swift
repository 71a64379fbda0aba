/// A rate limit (a sync's `batch.rate`, a rest destination's `rate`): a bucket that refills at `rate` tokens per second and holds
/// at most one second's worth, so a burst never exceeds the rate for long.
public struct TokenBucket: Sendable {
  public let rate: Double
  private let capacity: Double
  private var tokens: Double
  private var updated: Double

  public init(rate: Double, now: Double) {
    self.rate = rate
    capacity = max(1, rate)
    tokens = capacity
    updated = now
  }

  /// Takes one token and returns how many seconds to wait before using it (0 when one was there).
  public mutating func take(now: Double) -> Double {
    tokens = min(capacity, tokens + (now - updated) * rate)
    updated = now
    tokens -= 1
    return tokens >= 0 ? 0 : -tokens / rate
  }
}
