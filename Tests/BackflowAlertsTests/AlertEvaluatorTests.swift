import BackflowAlerts
import BackflowConfig
import BackflowState
import Testing

/// The pure part of alerts: which alerts open and close after a run, and with what figure.
@Suite("Alert evaluation")
struct AlertEvaluatorTests {
  static let here = SourceLocation(file: "backflow.yaml", line: 1, column: 1)

  static func rule(
    _ when: AlertRule.Condition, _ threshold: AlertThreshold? = nil, runs: Int? = nil, notify: [String] = ["oncall"],
    recovery: Bool = true
  ) -> AlertRule {
    AlertRule(
      when: Located(when, at: here), threshold: threshold.map { Located($0, at: here) }, runs: runs.map { Located($0, at: here) },
      notify: notify.map { Located($0, at: here) }, recovery: Located(recovery, at: here))
  }

  static func facts(
    error: String? = nil, attempted: Int? = 100, failed: Int = 0, rows: Int? = 100, seconds: Int? = 10, history: [Int] = []
  ) -> AlertFacts {
    AlertFacts(runID: 7, error: error, attempted: attempted, failed: failed, rowsQueried: rows, seconds: seconds, history: history)
  }

  // MARK: Readings

  @Test func failureHoldsOnlyWithASyncLevelError() {
    let rule = Self.rule(.failure)
    #expect(AlertEvaluator.reading(rule, Self.facts(error: "table contacts not found")) == .holds(figure: "stopped with an error: table contacts not found"))
    #expect(AlertEvaluator.reading(rule, Self.facts(failed: 100)) == .clear(figure: "finished without a sync-level error"))
    #expect(AlertEvaluator.reading(rule, AlertFacts(planError: "could not plan: no such table")) == .holds(figure: "stopped with an error: could not plan: no such table"))
  }

  @Test(arguments: [
    (0, 100, AlertReading.clear(figure: "0% of rows rejected (0 of 100)")),
    (5, 100, .clear(figure: "5% of rows rejected (5 of 100)")),
    (6, 100, .holds(figure: "6% of rows rejected (6 of 100)")),
    (1, 8, .holds(figure: "12.5% of rows rejected (1 of 8)")),
    (1, 3, .holds(figure: "33.33% of rows rejected (1 of 3)")),
  ])
  func rejectedRowsHoldAboveTheThreshold(failed: Int, attempted: Int, reading: AlertReading) {
    #expect(AlertEvaluator.reading(Self.rule(.rejectedRows, .percent(5)), Self.facts(attempted: attempted, failed: failed)) == reading)
  }

  @Test func rejectedRowsAreNotJudgedWithoutAttempts() {
    #expect(AlertEvaluator.reading(Self.rule(.rejectedRows, .percent(5)), Self.facts(attempted: 0)) == .unknown)
    #expect(AlertEvaluator.reading(Self.rule(.rejectedRows, .percent(0)), Self.facts(attempted: nil)) == .unknown)
    #expect(AlertEvaluator.reading(Self.rule(.rejectedRows, .percent(0)), Self.facts(attempted: 10, failed: 1)) == .holds(figure: "10% of rows rejected (1 of 10)"))
  }

  @Test func volumeDropComparesWithTheMeanOfTheLastRuns() {
    let rule = Self.rule(.volumeDrop, .percent(50), runs: 3)
    // Fewer than three earlier completed runs: not judged.
    #expect(AlertEvaluator.reading(rule, Self.facts(rows: 1, history: [100, 100])) == .unknown)
    // The mean of the newest three (100, 100, 100), not of the older 1000.
    #expect(
      AlertEvaluator.reading(rule, Self.facts(rows: 49, history: [100, 100, 100, 1000]))
        == .holds(figure: "49 rows queried, 51% below the mean of 100 over the last 3 completed runs"))
    #expect(
      AlertEvaluator.reading(rule, Self.facts(rows: 50, history: [100, 100, 100, 1000]))
        == .clear(figure: "50 rows queried, 50% below the mean of 100 over the last 3 completed runs"))
    #expect(
      AlertEvaluator.reading(rule, Self.facts(rows: 120, history: [100, 101, 100]))
        == .clear(figure: "120 rows queried, 0% below the mean of 100.3 over the last 3 completed runs"))
    #expect(AlertEvaluator.reading(Self.rule(.volumeDrop, .percent(50)), Self.facts(rows: 0, history: [9, 9, 9, 9])) == .unknown)
    #expect(AlertEvaluator.reading(Self.rule(.volumeDrop, .percent(50)), Self.facts(rows: 0, history: [9, 9, 9, 9, 9])) == .holds(figure: "0 rows queried, 100% below the mean of 9 over the last 5 completed runs"))
  }

  @Test func slowHoldsAboveTheDuration() throws {
    let rule = Self.rule(.slow, .duration(try #require(Interval("10m"))))
    #expect(AlertEvaluator.reading(rule, Self.facts(seconds: 600)) == .clear(figure: "took 10m"))
    #expect(AlertEvaluator.reading(rule, Self.facts(seconds: 601)) == .holds(figure: "took 10m 1s"))
    #expect(AlertEvaluator.reading(rule, Self.facts(seconds: nil)) == .unknown)
  }

  @Test(arguments: [(0, "0s"), (45, "45s"), (60, "1m"), (3600, "1h"), (3725, "1h 2m 5s"), (7205, "2h 5s")])
  func durationsReadAsWritten(seconds: Int, text: String) {
    #expect(AlertEvaluator.describe(seconds: seconds) == text)
  }

  // MARK: Changes

  /// Every reading against open and closed: only a change of state is a change.
  @Test(arguments: [true, false])
  func onlyAChangeOfStateNotifies(wasOpen: Bool) {
    let evaluator = AlertEvaluator(rules: [Self.rule(.rejectedRows, .percent(5))])
    let open: Set<AlertRule.Condition> = wasOpen ? [.rejectedRows] : []
    let holding = evaluator.changes(Self.facts(failed: 50), open: open)
    let clear = evaluator.changes(Self.facts(failed: 0), open: open)
    let unknown = evaluator.changes(Self.facts(attempted: 0), open: open)
    #expect(unknown.isEmpty)
    if wasOpen {
      #expect(holding.isEmpty)
      #expect(clear == [.close(.rejectedRows, figure: "0% of rows rejected (0 of 100)", threshold: "5%", channels: ["oncall"])])
    } else {
      #expect(holding == [.open(.rejectedRows, figure: "50% of rows rejected (50 of 100)", threshold: "5%", channels: ["oncall"])])
      #expect(clear.isEmpty)
    }
  }

  @Test func recoveryFalseClosesSilently() {
    let evaluator = AlertEvaluator(rules: [Self.rule(.failure, notify: ["oncall", "hooks"], recovery: false)])
    #expect(evaluator.changes(Self.facts(), open: [.failure]) == [.close(.failure, figure: "finished without a sync-level error", threshold: nil, channels: [])])
    #expect(evaluator.changes(Self.facts(error: "boom"), open: []) == [.open(.failure, figure: "stopped with an error: boom", threshold: nil, channels: ["oncall", "hooks"])])
  }

  @Test func anOpenAlertNoRuleAsksForIsDropped() {
    let evaluator = AlertEvaluator(rules: [Self.rule(.failure)])
    #expect(evaluator.changes(Self.facts(), open: [.failure, .slow]) == [.close(.failure, figure: "finished without a sync-level error", threshold: nil, channels: ["oncall"]), .drop(.slow)])
  }

  @Test func aPlanFailureJudgesOnlyFailure() {
    let evaluator = AlertEvaluator(rules: [Self.rule(.failure), Self.rule(.slow, .duration(Interval("1s")!)), Self.rule(.rejectedRows, .percent(1))])
    #expect(evaluator.changes(AlertFacts(planError: "no such table"), open: [.slow, .rejectedRows]) == [
      .open(.failure, figure: "stopped with an error: no such table", threshold: nil, channels: ["oncall"])
    ])
  }

  @Test func factsOfARunLeaveOutRunsThatStoppedAndLaterOnes() {
    func run(_ id: Int, _ status: RunRecord.Status, error: String? = nil, rows: Int) -> RunRecord {
      RunRecord(
        id: id, syncID: 1, status: status, error: error, startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:02:05Z",
        gitCommit: nil, rowsQueried: rows, planned: OperationCounts(add: 10), attempted: OperationCounts(add: 8, change: 2),
        failed: OperationCounts(add: 1))
    }
    let current = run(5, .failed, rows: 40)
    let earlier = [run(6, .succeeded, rows: 1), current, run(4, .failed, error: "boom", rows: 2), run(3, .failed, rows: 30), run(2, .aborted, rows: 3), run(1, .succeeded, rows: 20)]
    let facts = AlertFacts(run: current, earlier: earlier)
    #expect(facts == AlertFacts(runID: 5, error: nil, attempted: 10, failed: 1, rowsQueried: 40, seconds: 125, history: [30, 20]))
  }

  // MARK: Messages

  @Test func eventsRoundTripThroughStateAndNameEverything() throws {
    let event = AlertEvent(
      event: .opened, alert: "rejected_rows", sync: "users_to_crm", syncID: 7, runID: 42,
      figure: "12.5% of rows rejected (1 of 8)", threshold: "5%", occurredAt: "2026-12-05T14:00:00Z")
    #expect(AlertEvent(payload: event.payload) == event)
    #expect(event.text == """
      Backflow alert: rejected_rows on sync users_to_crm
      Sync: users_to_crm (ID 7)
      Run: #42
      Figure: 12.5% of rows rejected (1 of 8)
      Threshold: 5%
      """)
    let body = try JSONValue.parse(event.webhookBody(sentAt: "2026-12-05T14:00:01Z"))
    #expect(body["event"] == .string("alert.opened") && body["alert"] == .string("rejected_rows"))
    #expect(body["sync"] == .string("users_to_crm") && body["sync_id"] == .int(7) && body["run_id"] == .int(42))
    #expect(body["figure"] == .string("12.5% of rows rejected (1 of 8)") && body["threshold"] == .string("5%"))
    #expect(body["sent_at"] == .string("2026-12-05T14:00:01Z"))
  }
}
