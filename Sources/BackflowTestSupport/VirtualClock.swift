import BackflowEngine
import Synchronization

/// A pacing clock that moves only when the engine waits, instantly: rate tests check what was
/// waited for and when each batch arrived in its time, never a wall-clock duration.
public final class VirtualClock: PacingClock {
  private let state = Mutex<(now: Double, waits: [Double])>((0, []))

  public init() {}

  public func now() -> Double { state.withLock { $0.now } }

  public func sleep(seconds: Double) async {
    state.withLock {
      $0.now += seconds
      $0.waits.append(seconds)
    }
  }

  /// Every wait the engine asked for, in order.
  public var waits: [Double] { state.withLock { $0.waits } }
}
