import ArgumentParser
import BackflowConfig

/// `--lock-timeout`: how long a command waits for another process to release a sync's lock.
public struct LockOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Wait up to this long (0s, 30s, 5m, 1h30m) for another process to release a sync's lock; "
        + "by default a locked sync fails at once.",
      valueName: "duration"),
    transform: LockOptions.duration)
  public var lockTimeout: Duration = .zero

  public init() {}

  /// `0`, `0s` or anything `Interval` reads (`30s`, `5m`, `1h30m`).
  static func duration(_ text: String) throws -> Duration {
    if let interval = Interval(text) { return .seconds(interval.seconds) }
    // Interval refuses a zero total, which is the point here: `0s`, `0m0s` and `0` wait 0 s.
    let onlyZeros = !text.contains { $0.isNumber && $0 != "0" }
    if text == "0" || (onlyZeros && Interval(text.replacingOccurrences(of: "0", with: "1")) != nil) { return .zero }
    throw ValidationError("--lock-timeout must be a duration such as 0s, 30s, 5m or 1h30m; got \"\(text)\"")
  }
}
