import BackflowConfig
import Foundation
import Testing

/// Next-run times: `every`, cron (Vixie semantics) and weekly, in their zones and across DST.
@Suite("schedule arithmetic")
struct ScheduleArithmeticTests {
  func date(_ text: String) throws -> Date {
    try Date(text, strategy: .iso8601)
  }

  func cron(_ text: String, _ zone: String = "UTC") throws -> Schedule {
    .cron(try CronExpression.parse(text).get(), timeZone: zone)
  }

  func weekly(_ days: [Schedule.Weekday], _ times: [String], _ zone: String) -> Schedule {
    .weekly(days: days, at: times.compactMap(Schedule.TimeOfDay.init), timeZone: zone)
  }

  /// The instants the schedule fires at after `start`, one after the other, as ISO 8601 UTC.
  func firings(_ schedule: Schedule, after start: String, count: Int) throws -> [String] {
    var times: [String] = []
    var current = try date(start)
    for _ in 0..<count {
      guard let next = schedule.nextTime(after: current) else { break }
      times.append(next.formatted(.iso8601))
      current = next
    }
    return times
  }

  // MARK: every

  @Test func everyCountsFromTheLastStartAndANeverRunSyncIsDueNow() throws {
    let schedule = Schedule.every(try #require(Interval("15m")))
    #expect(schedule.nextDue(lastRun: nil) == .now)
    #expect(schedule.nextDue(lastRun: try date("2024-05-01T10:00:07Z")) == .at(try date("2024-05-01T10:15:07Z")))
    #expect(Schedule.Due.at(try date("2024-05-01T10:15:07Z")).isDue(at: try date("2024-05-01T10:15:07Z")))
    #expect(!Schedule.Due.at(try date("2024-05-01T10:15:07Z")).isDue(at: try date("2024-05-01T10:15:06Z")))
  }

  @Test func everyIsElapsedTimeAcrossDST() throws {
    // A day is 86,400 seconds, even over New York's spring-forward night.
    let schedule = Schedule.every(try #require(Interval("1d")))
    #expect(try firings(schedule, after: "2024-03-09T12:00:00Z", count: 2) == ["2024-03-10T12:00:00Z", "2024-03-11T12:00:00Z"])
  }

  @Test func followersAndManualSyncsAreNotTimeDriven() throws {
    let location = SourceLocation(file: "s.yaml", line: 1, column: 1)
    let after = Schedule.after([Located("a", at: location), Located("b", at: location)], onFailure: .skip)
    #expect(after.nextDue(lastRun: nil) == .after(["a", "b"]))
    #expect(after.nextTime(after: Date()) == nil)
    #expect(Schedule.manual.nextDue(lastRun: nil) == .manual)
    #expect(!Schedule.Due.manual.isDue(at: Date()) && !Schedule.Due.after(["a"]).isDue(at: Date()))
    #expect(Schedule.Due.now.isDue(at: .distantPast))
  }

  // MARK: cron

  @Test func cronNeverRunIsDueNowAndThenCountsFromTheLastStart() throws {
    let schedule = try cron("0 3 * * *")
    #expect(schedule.nextDue(lastRun: nil) == .now)
    #expect(schedule.nextDue(lastRun: try date("2024-05-01T10:00:00Z")) == .at(try date("2024-05-02T03:00:00Z")))
  }

  @Test func cronFiresStrictlyAfterTheReference() throws {
    #expect(try firings(cron("*/15 * * * *"), after: "2024-05-01T10:07:00Z", count: 3)
      == ["2024-05-01T10:15:00Z", "2024-05-01T10:30:00Z", "2024-05-01T10:45:00Z"])
    // A run that started on the minute does not make the same minute due again.
    #expect(try firings(cron("0 * * * *"), after: "2024-05-01T10:00:00Z", count: 1) == ["2024-05-01T11:00:00Z"])
    #expect(try firings(cron("0 * * * *"), after: "2024-05-01T09:59:59.5Z", count: 1) == ["2024-05-01T10:00:00Z"])
  }

  @Test func stepsAndRanges() throws {
    // 5/20 runs from 5 to the end of the hour; 9-10 keeps two hours; the next day follows.
    #expect(try firings(cron("5/20 9-10 * * *"), after: "2024-05-01T10:30:00Z", count: 4)
      == ["2024-05-01T10:45:00Z", "2024-05-02T09:05:00Z", "2024-05-02T09:25:00Z", "2024-05-02T09:45:00Z"])
    #expect(try firings(cron("0 0-12/6 * * *"), after: "2024-05-01T00:00:00Z", count: 3)
      == ["2024-05-01T06:00:00Z", "2024-05-01T12:00:00Z", "2024-05-02T00:00:00Z"])
  }

  @Test func namesAndSevenIsSunday() throws {
    // 2024-06-01 is a Saturday.
    #expect(try firings(cron("0 12 * * mon"), after: "2024-06-01T00:00:00Z", count: 1) == ["2024-06-03T12:00:00Z"])
    #expect(try firings(cron("0 0 * * 7"), after: "2024-06-01T00:00:00Z", count: 2)
      == ["2024-06-02T00:00:00Z", "2024-06-09T00:00:00Z"])
    #expect(try firings(cron("0 0 1 jan,JUL *"), after: "2024-02-01T00:00:00Z", count: 2)
      == ["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"])
    #expect(try firings(cron("@monthly"), after: "2024-12-15T00:00:00Z", count: 1) == ["2025-01-01T00:00:00Z"])
  }

  @Test func february29thWaitsForALeapYearAnd2100IsNotOne() throws {
    #expect(try firings(cron("0 0 29 2 *"), after: "2024-03-01T00:00:00Z", count: 1) == ["2028-02-29T00:00:00Z"])
    #expect(try firings(cron("0 0 29 2 *"), after: "2096-03-01T00:00:00Z", count: 1) == ["2104-02-29T00:00:00Z"])
  }

  @Test func the31stSkipsShorterMonths() throws {
    #expect(try firings(cron("0 0 31 * *"), after: "2024-01-31T00:00:00Z", count: 3)
      == ["2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"])
  }

  @Test func anImpossibleDateIsNever() throws {
    let schedule = try cron("0 0 30 2 *")
    #expect(schedule.nextTime(after: try date("2024-01-01T00:00:00Z")) == nil)
    #expect(schedule.nextDue(lastRun: try date("2024-01-01T00:00:00Z")) == .never)
  }

  @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
    // The 1st or a Monday: 2024-09-02 and 09-30 are Mondays, 10-01 is a Tuesday.
    #expect(try firings(cron("0 0 1 * mon"), after: "2024-09-01T00:00:00Z", count: 3)
      == ["2024-09-02T00:00:00Z", "2024-09-09T00:00:00Z", "2024-09-16T00:00:00Z"])
    #expect(try firings(cron("0 0 1 * mon"), after: "2024-09-29T00:00:00Z", count: 2)
      == ["2024-09-30T00:00:00Z", "2024-10-01T00:00:00Z"])
    // With one of them "*", the other alone decides.
    #expect(try firings(cron("0 0 1 * *"), after: "2024-09-01T00:00:00Z", count: 1) == ["2024-10-01T00:00:00Z"])
    #expect(try firings(cron("0 0 * * mon"), after: "2024-09-29T00:00:00Z", count: 2)
      == ["2024-09-30T00:00:00Z", "2024-10-07T00:00:00Z"])
  }

  @Test func cronIsEvaluatedInItsTimeZone() throws {
    // 03:00 in Berlin is 01:00 UTC in summer and 02:00 UTC in winter.
    #expect(try firings(cron("0 3 * * *", "Europe/Berlin"), after: "2024-07-01T12:00:00Z", count: 1) == ["2024-07-02T01:00:00Z"])
    #expect(try firings(cron("0 3 * * *", "Europe/Berlin"), after: "2024-01-01T12:00:00Z", count: 1) == ["2024-01-02T02:00:00Z"])
    // Monday in Tokyo begins on Sunday in UTC.
    #expect(try firings(cron("30 6 * * mon", "Asia/Tokyo"), after: "2024-06-01T00:00:00Z", count: 1) == ["2024-06-02T21:30:00Z"])
  }

  // MARK: DST

  @Test func springForwardRunsASkippedTimeOnceAtTheEndOfTheGapInNewYork() throws {
    // 2024-03-10: 02:00 EST becomes 03:00 EDT (07:00 UTC); 02:30 does not exist that night.
    #expect(try firings(cron("30 2 * * *", "America/New_York"), after: "2024-03-09T12:00:00Z", count: 2)
      == ["2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"])
    // Every slot in the gap is the same instant, so it runs once, and 03:00 does not run again.
    #expect(try firings(cron("*/30 2-3 * * *", "America/New_York"), after: "2024-03-10T05:00:00Z", count: 3)
      == ["2024-03-10T07:00:00Z", "2024-03-10T07:30:00Z", "2024-03-11T06:00:00Z"])
  }

  @Test func fallBackRunsARepeatedTimeOnceAtItsFirstOccurrenceInNewYork() throws {
    // 2024-11-03: 02:00 EDT becomes 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC.
    #expect(try firings(cron("30 1 * * *", "America/New_York"), after: "2024-11-03T04:00:00Z", count: 2)
      == ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"])
    // Hourly: the repeated 01:00 is not run a second time; 02:00 EST comes two hours after 01:00 EDT.
    #expect(try firings(cron("0 * * * *", "America/New_York"), after: "2024-11-03T04:30:00Z", count: 3)
      == ["2024-11-03T05:00:00Z", "2024-11-03T07:00:00Z", "2024-11-03T08:00:00Z"])
    // A reference inside the repeated hour (01:10 EST) still finds the next slot.
    #expect(try firings(cron("*/20 * * * *", "America/New_York"), after: "2024-11-03T06:10:00Z", count: 1)
      == ["2024-11-03T07:00:00Z"])
  }

  @Test func berlinInBothDirections() throws {
    // 2024-03-31: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    #expect(try firings(cron("30 2 * * *", "Europe/Berlin"), after: "2024-03-30T12:00:00Z", count: 2)
      == ["2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"])
    // 2024-10-27: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 runs at its first occurrence.
    #expect(try firings(cron("30 2 * * *", "Europe/Berlin"), after: "2024-10-26T12:00:00Z", count: 2)
      == ["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"])
  }

  @Test func aSkippedDayRunsOnceWhenTheZoneComesBack() throws {
    // Samoa skipped 2011-12-30 entirely, moving from UTC-10 to UTC+14 at 10:00 UTC.
    #expect(try firings(cron("0 12 * * *", "Pacific/Apia"), after: "2011-12-29T23:00:00Z", count: 2)
      == ["2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"])
  }

  // MARK: weekly

  @Test func weeklyDaysAndTimesInItsZone() throws {
    let schedule = weekly([.monday, .friday], ["18:00", "07:30"], "Europe/Berlin")
    #expect(schedule.nextDue(lastRun: nil) == .now)
    // Friday 2024-03-29 18:30 in Berlin, then the clocks change on Sunday: Monday 07:30 is CEST.
    #expect(try firings(schedule, after: "2024-03-29T17:30:00Z", count: 3)
      == ["2024-04-01T05:30:00Z", "2024-04-01T16:00:00Z", "2024-04-05T05:30:00Z"])
  }

  @Test func weeklyAcrossDSTInNewYork() throws {
    let schedule = weekly([.sunday], ["02:30", "01:30"], "America/New_York")
    // Spring: 01:30 EST, then 02:30 does not exist and runs at 03:00 EDT.
    #expect(try firings(schedule, after: "2024-03-09T12:00:00Z", count: 3)
      == ["2024-03-10T06:30:00Z", "2024-03-10T07:00:00Z", "2024-03-17T05:30:00Z"])
    // Autumn: 01:30 once (EDT), then 02:30 EST.
    #expect(try firings(schedule, after: "2024-11-02T12:00:00Z", count: 2)
      == ["2024-11-03T05:30:00Z", "2024-11-03T07:30:00Z"])
  }
}
