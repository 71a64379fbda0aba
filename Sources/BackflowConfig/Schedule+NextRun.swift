import Foundation

extension Schedule {
  /// When a sync on a schedule is next due to run.
  public enum Due: Sendable, Hashable {
    /// It has never run: due at once, whatever its schedule.
    case now
    /// Due at this instant (already due when it is not in the future).
    case at(Date)
    /// A cron expression that matches no date in the next ten years, such as `0 0 30 2 *`.
    case never
    /// Runs after these syncs, in the same invocation; not time-driven.
    case after([String])
    /// Runs only when selected by name.
    case manual

    /// Whether a sync due so should run at `now` by its own schedule (followers never do: they
    /// run because their leaders did).
    public func isDue(at now: Date) -> Bool {
      switch self {
      case .now: true
      case let .at(date): date <= now
      case .never, .after, .manual: false
      }
    }

    /// The instant it is due, when it is time-driven and has run before.
    public var date: Date? {
      if case let .at(date) = self { date } else { nil }
    }
  }

  /// When a sync on this schedule is next due, given the start of its last run recorded in state
  /// (`nil` when it has never run).
  ///
  /// `every` counts elapsed time from the last start (`1d` is 86,400 seconds, whatever the clocks
  /// do); `cron` and `weekly` are due at their first slot after the last start, in their time zone
  /// (see `nextTime(after:)` for DST). A sync that has never run is due now.
  public func nextDue(lastRun: Date?) -> Due {
    switch self {
    case let .after(leaders, _): return .after(leaders.map(\.value))
    case .manual: return .manual
    case .every, .cron, .weekly:
      guard let lastRun else { return .now }
      return nextTime(after: lastRun).map(Due.at) ?? .never
    }
  }

  /// The first time this schedule fires strictly after `date`; `nil` for `after` and `manual`, and
  /// for a cron expression that matches nothing in the next ten years.
  ///
  /// Cron and weekly slots are wall-clock times in the schedule's zone. A slot that a
  /// spring-forward gap skips (02:30 on the night New York goes from 02:00 to 03:00) fires once, at
  /// the first instant after the gap (03:00 local); a slot that a fall-back repeats (01:30 when
  /// 01:00-02:00 happens twice) fires once, at its first occurrence.
  public func nextTime(after date: Date) -> Date? {
    switch self {
    case let .every(interval):
      return date.addingTimeInterval(TimeInterval(interval.seconds))
    case let .cron(expression, timeZone):
      guard let zone = TimeZone(identifier: timeZone) else { return nil }
      let slots = expression.hours.sorted().flatMap { hour in expression.minutes.sorted().map { hour * 60 + $0 } }
      // Feb 29 alone can be eight years away (2096 → 2104); ten years bounds any expression.
      return WallClock(zone: zone).firstSlot(after: date, days: 3_660, slots: slots) { day in
        expression.matches(day)
      }
    case let .weekly(days, times, timeZone):
      guard let zone = TimeZone(identifier: timeZone), !days.isEmpty else { return nil }
      let weekdays = Set(days.map(\.rawValue))
      let slots = Set(times.map { $0.hour * 60 + $0.minute }).sorted()
      return WallClock(zone: zone).firstSlot(after: date, days: 8, slots: slots) { weekdays.contains($0.weekday) }
    case .after, .manual:
      return nil
    }
  }
}

extension CronExpression {
  /// Whether the expression runs on `day`: the month must match, and day of month and day of week
  /// must both match, except that when both are restricted either one is enough (Vixie cron).
  func matches(_ day: CivilDay) -> Bool {
    guard months.contains(day.month) else { return false }
    let dayOfMonth = daysOfMonth.contains(day.day)
    let dayOfWeek = daysOfWeek.contains(day.weekday)
    return restrictsDayOfMonth && restrictsDayOfWeek ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek
  }
}

/// A date on the proleptic Gregorian calendar, with no time zone.
struct CivilDay: Hashable {
  var year: Int
  var month: Int
  var day: Int
  /// 0 is Sunday.
  var weekday: Int

  /// The day `number` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
  init(daysSinceEpoch number: Int) {
    let shifted = number + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    // 1970-01-01 was a Thursday.
    weekday = ((number % 7) + 7 + 4) % 7
  }
}

/// Wall-clock times in one zone, as seconds since 1970-01-01T00:00 local ("local seconds"), and
/// the instants they name.
struct WallClock {
  var zone: TimeZone

  /// The first instant after `date` of a slot (minutes after local midnight, ascending) on a day
  /// that `matches`, looking at most `days` days ahead.
  func firstSlot(after date: Date, days: Int, slots: [Int], matches: (CivilDay) -> Bool) -> Date? {
    guard !slots.isEmpty else { return nil }
    let reference = date.timeIntervalSince1970
    let instant = Int(reference.rounded(.down))
    let local = instant + offset(at: instant)
    var dayNumber = Self.floorDivide(local, 86_400)
    // Slots earlier on the reference's own day name instants no later than it: the mapping from
    // wall clock to instant never goes backwards.
    let firstMinute = (local - dayNumber * 86_400) / 60
    for index in 0...days {
      if matches(CivilDay(daysSinceEpoch: dayNumber)) {
        for slot in slots where index > 0 || slot >= firstMinute {
          let candidate = self.instant(local: dayNumber * 86_400 + slot * 60)
          if Double(candidate) > reference { return Date(timeIntervalSince1970: TimeInterval(candidate)) }
        }
      }
      dayNumber += 1
    }
    return nil
  }

  /// The instant a wall-clock time names: its first occurrence when a fall-back repeats it, the
  /// end of the gap when a spring-forward skips it.
  func instant(local: Int) -> Int {
    // Any change of offset that can touch this wall-clock time lies within a day of it.
    let offsets = Set([-86_400, 0, 86_400].map { offset(at: local + $0) })
    let valid = offsets.map { local - $0 }.filter { offset(at: $0) == local - $0 }
    if let first = valid.min() { return first }
    // In a gap: before the change the time would be past it, after the change not yet reached.
    guard let smallest = offsets.min(), let largest = offsets.max() else { return local }
    var before = local - largest
    var after = local - smallest
    let old = offset(at: before)
    while after - before > 1 {
      let middle = before + (after - before) / 2
      if offset(at: middle) == old { before = middle } else { after = middle }
    }
    return after
  }

  private func offset(at instant: Int) -> Int {
    zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
  }

  private static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
    value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
  }
}
