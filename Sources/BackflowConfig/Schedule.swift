/// When a sync runs on its own.
public enum Schedule: Sendable, Encodable {
  public enum AfterFailure: String, Sendable, Encodable, CaseIterable {
    /// Followers wait for a successful run.
    case skip
    /// Followers run whatever the outcome.
    case run
  }

  public enum Weekday: Int, Sendable, Hashable, Encodable, CaseIterable {
    case sunday = 0, monday, tuesday, wednesday, thursday, friday, saturday

    /// `mon` and `monday` alike.
    public init?(name: String) {
      let lowered = name.lowercased()
      guard let day = Self.allCases.first(where: { "\($0)" == lowered || "\($0)".prefix(3) == lowered })
      else { return nil }
      self = day
    }

    public func encode(to encoder: any Encoder) throws {
      var container = encoder.singleValueContainer()
      try container.encode(String("\(self)".prefix(3)))
    }
  }

  /// A wall-clock time, `HH:MM`.
  public struct TimeOfDay: Sendable, Hashable, Encodable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init?(_ text: String) {
      let parts = text.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, parts[0].count <= 2, parts[1].count == 2,
        let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
      else { return nil }
      self.hour = hour
      self.minute = minute
    }

    public var description: String {
      (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }

    public func encode(to encoder: any Encoder) throws {
      var container = encoder.singleValueContainer()
      try container.encode(description)
    }
  }

  public static let defaultTimeZone = "UTC"

  case every(Interval)
  case cron(CronExpression, timeZone: String)
  case weekly(days: [Weekday], at: [TimeOfDay], timeZone: String)
  case after([Located<String>], onFailure: AfterFailure)
  /// Runs only when selected by name.
  case manual

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    switch self {
    case let .every(interval):
      try container.encode(interval, forKey: .every)
    case let .cron(expression, timeZone):
      try container.encode(expression, forKey: .cron)
      try container.encode(timeZone, forKey: .timezone)
    case let .weekly(days, times, timeZone):
      var weekly = container.nestedContainer(keyedBy: Key.self, forKey: .weekly)
      try weekly.encode(days, forKey: .days)
      try weekly.encode(times, forKey: .at)
      try weekly.encode(timeZone, forKey: .timezone)
    case let .after(syncs, onFailure):
      try container.encode(syncs, forKey: .after)
      try container.encode(onFailure, forKey: .afterFailure)
    case .manual:
      try container.encode(true, forKey: .manual)
    }
  }

  private enum Key: String, CodingKey {
    case every, cron, timezone, weekly, days, at, after, manual
    case afterFailure = "after_failure"
  }
}
