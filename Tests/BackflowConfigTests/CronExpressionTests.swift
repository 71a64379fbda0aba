import BackflowConfig
import Testing

@Suite("cron expressions")
struct CronExpressionTests {
  func parse(_ text: String) throws -> CronExpression {
    try CronExpression.parse(text).get()
  }

  @Test func stepsRangesAndLists() throws {
    let cron = try parse("*/15 9-17 1,15 * mon-fri")
    #expect(cron.minutes == [0, 15, 30, 45])
    #expect(cron.hours == Set(9...17))
    #expect(cron.daysOfMonth == [1, 15])
    #expect(cron.months == Set(1...12))
    #expect(cron.daysOfWeek == [1, 2, 3, 4, 5])
    #expect(cron.restrictsDayOfMonth && cron.restrictsDayOfWeek)
  }

  @Test func aDayFieldStartingWithAStarDoesNotRestrictAsInVixieCron() throws {
    let stepped = try parse("0 0 */2 * mon")
    #expect(!stepped.restrictsDayOfMonth && stepped.restrictsDayOfWeek)
    #expect(try parse("0 0 1 * */2").restrictsDayOfWeek == false)
    #expect(try parse("0 0 1-31/2 * mon").restrictsDayOfMonth)
  }

  @Test func namesAreCaseInsensitiveAndSevenIsSunday() throws {
    let cron = try parse("0 0 * JAN,jul SAT,7")
    #expect(cron.months == [1, 7])
    #expect(cron.daysOfWeek == [6, 0])
  }

  @Test func steppedStartRunsToTheEnd() throws {
    #expect(try parse("5/20 * * * *").minutes == [5, 25, 45])
    #expect(try parse("10-30/10 * * * *").minutes == [10, 20, 30])
  }

  @Test func macros() throws {
    #expect(try parse("@hourly").minutes == [0])
    #expect(try parse("@daily").hours == [0])
    #expect(try parse("@weekly").daysOfWeek == [0])
    #expect(try parse("@yearly").months == [1])
  }

  @Test(arguments: [
    ("60 * * * *", "minute \"60\" is not in 0-59"),
    ("* 24 * * *", "hour \"24\" is not in 0-23"),
    ("* * 0 * *", "day of month \"0\" is not in 1-31"),
    ("* * * 13 *", "month \"13\" is not in 1-12 or jan-dec"),
    ("* * * * 8", "day of week \"8\" is not in 0-7 or sun-sat"),
    ("*/0 * * * *", "minute step \"0\" must be a whole number above 0"),
    ("5-1 * * * *", "minute range \"5-1\" runs backwards"),
    ("1,,2 * * * *", "minute \"\" is not a value, range or step"),
    ("* * * *", "expected 5 fields"),
    ("* * * * * *", "found 6"),
    ("@often", "found 1"),
  ])
  func rejections(_ text: String, _ reason: String) {
    guard case let .failure(error) = CronExpression.parse(text) else {
      Issue.record("\(text) parsed")
      return
    }
    #expect(error.description.contains(reason), "\(error)")
  }
}
