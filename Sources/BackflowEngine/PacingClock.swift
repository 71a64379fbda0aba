/// The time `batch.rate` is kept by: the system's in apply; a virtual one in tests, so that pacing
/// is checked by what was waited for, never by wall-clock durations.
public protocol PacingClock: Sendable {
  /// Seconds since a fixed start.
  func now() -> Double
  /// Waits `seconds` (more than zero).
  func sleep(seconds: Double) async
}

/// The monotonic system clock.
public struct SystemPacingClock: PacingClock {
  private let start = ContinuousClock.now

  public init() {}

  public func now() -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
  }

  public func sleep(seconds: Double) async {
    try? await Task.sleep(for: .seconds(seconds))
  }
}
