import BackflowAlerts
import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowSQLite
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

extension Backend: CustomTestStringConvertible {
  public var testDescription: String { rawValue }
}

/// Alerts end to end: real runs through the engine, open alerts and the outbox in the real state
/// store (SQLite and PostgreSQL), real HTTP and SMTP servers on 127.0.0.1.
@Suite("Alert delivery")
struct AlertDeliveryTests {
  static let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "bad"),
    (3, "katherine@example.com", "Katherine", "pro"), (4, "annie@example.com", "Annie", "free"),
  ]
  static let secret = "s3cret-signing-key"

  /// A scenario whose backflow.yaml ends with `extra` (notifications, alerts).
  static func scenario(_ backend: Backend, _ extra: String) throws -> Scenario {
    let scenario = try Scenario(backend)
    let url = scenario.directory.appendingPathComponent("backflow.yaml")
    scenario.write(["backflow.yaml": try String(contentsOf: url, encoding: .utf8) + extra])
    return scenario
  }

  /// A scenario with the webhook channel `hooks` pointing at `server` (its URL and signing secret
  /// from the environment) and these `alerts:` entries.
  static func scenario(_ backend: Backend, hooksTo server: ProtocolServer, alerts: String) throws -> Scenario {
    let scenario = try Self.scenario(
      backend,
      "notifications:\n  hooks: { type: webhook, url: \"${HOOK_URL}\", secret: \"${ALERT_SECRET}\" }\nalerts:\n\(alerts)")
    scenario.environment["HOOK_URL"] = server.url + "/alerts"
    scenario.environment["ALERT_SECRET"] = secret
    return scenario
  }

  /// Runs the built `backflow` in the scenario's project, on a thread of its own.
  static func backflow(_ scenario: Scenario, _ arguments: [String]) async throws -> BackflowProcess.Output {
    try await BackflowProcess.output(of: arguments, in: scenario.directory, environment: scenario.environment)
  }

  /// HMAC-SHA256 computed by Python's standard library, not by Backflow's own code.
  static func pythonSignature(key: String, body: String) async throws -> String {
    try await onThreadOfItsOwn { try pythonHMAC(key: key, body: body) }
  }

  private static func pythonHMAC(key: String, body: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-c",
      "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
      key,
    ]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(body.utf8))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test(arguments: Backend.allCases)
  func twoRunsOverTheThresholdSendOneAlertAndAFixSendsOneRecovery(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer(acceptingEveryPost: true) { server in
      let alerting = try Self.scenario(
        backend, hooksTo: server, alerts: "  - { when: rejected_rows, threshold: 10%, notify: [hooks] }\n")
      try alerting.crmRejects(tiers: ["bad"])
      try alerting.insert(Self.people)

      let first = try await alerting.apply()
      let firstRun = try #require(first.first?.run)
      #expect(firstRun.failed.total == 1 && firstRun.attempted.total == 4)
      #expect(server.requests.count == 1)
      let opened = try #require(server.requests.first)
      #expect(opened.path == "/alerts")
      #expect(opened.body?["event"] == .string("alert.opened") && opened.body?["alert"] == .string("rejected_rows"))
      #expect(opened.body?["sync"] == .string("users_to_crm") && opened.body?["run_id"] == .int(firstRun.id))
      #expect(opened.body?["sync_id"] == .int(firstRun.syncID))
      #expect(opened.body?["figure"] == .string("25% of rows rejected (1 of 4)") && opened.body?["threshold"] == .string("10%"))
      #expect(opened.header("X-Backflow-Signature") == "sha256=" + (try await Self.pythonSignature(key: Self.secret, body: opened.text)))
      #expect(opened.header("X-Backflow-Signature") != "sha256=" + (try await Self.pythonSignature(key: "another key", body: opened.text)))
      #expect(try alerting.openState().openAlerts().map(\.alert) == ["rejected_rows"])
      #expect(first.first?.notes.contains { $0.hasPrefix("alert rejected_rows opened: 25% of rows rejected") } == true)

      // Still over the threshold: the failed row is retried and fails again; nothing is sent.
      let second = try await alerting.apply()
      #expect(try #require(second.first?.run).failed.total == 1)
      #expect(server.requests.count == 1)
      #expect(try alerting.openState().openAlerts().count == 1)

      // Fixed: the retried row lands, the alert closes, one recovery notice.
      try alerting.crmRejects(tiers: [])
      let third = try await alerting.apply()
      let thirdRun = try #require(third.first?.run)
      #expect(thirdRun.status == .succeeded)
      #expect(server.requests.count == 2)
      let closed = try #require(server.requests.last)
      #expect(closed.body?["event"] == .string("alert.closed") && closed.body?["run_id"] == .int(thirdRun.id))
      #expect(closed.body?["figure"] == .string("0% of rows rejected (0 of 1)"))
      #expect(closed.header("X-Backflow-Signature") == "sha256=" + (try await Self.pythonSignature(key: Self.secret, body: closed.text)))
      #expect(try alerting.openState().openAlerts().isEmpty)

      // And it stays closed.
      _ = try await alerting.apply()
      #expect(server.requests.count == 2)
    }
  }

  @Test(arguments: Backend.allCases)
  func anUndeliverableChannelLeavesTheSyncGreenAndDeliversLater(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer(acceptingEveryPost: true) { server in
      let key = "T000/B000/XXXXSECRETXXXX"
      let scenario = try Self.scenario(
        backend,
        """
        notifications:
          oncall: { type: slack, webhook: "${SLACK_WEBHOOK}" }
        alerts:
          - { when: volume_drop, threshold: 50%, runs: 2, notify: [oncall] }

        """)
      scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "max_remove: 100%\n"])
      // Nothing listens on port 1: every delivery fails with a refused connection.
      scenario.environment["SLACK_WEBHOOK"] = "http://127.0.0.1:1/services/\(key)"
      try scenario.insert(Self.people)
      _ = try await scenario.apply()
      _ = try await scenario.apply()
      try scenario.sql("delete from users where user_id > 1")

      // As a CI job runs it: the sync is green, exit 0, and the note says what will happen.
      let dropped = try await Self.backflow(scenario, ["apply", "--auto-approve"])
      #expect(dropped.status == 0, "\(dropped.stdout)\(dropped.stderr)")
      #expect(dropped.stdout.contains("alert volume_drop opened: 1 rows queried, 75% below the mean of 4"))
      #expect(dropped.stdout.contains("could not deliver the alert.opened notification to oncall (volume_drop on sync users_to_crm)"))
      #expect(dropped.stdout.contains("it is retried after the next run"))
      for output in [dropped.stdout, dropped.stderr] { #expect(!output.contains(key) && !output.contains("127.0.0.1:1"), "\(output)") }
      let run = try #require(try scenario.openState().runs().first)
      #expect(run.status == .succeeded && run.rowsQueried == 1)
      let pending = try scenario.openState().pendingNotifications()
      #expect(pending.map(\.channel) == ["oncall"] && pending.map(\.attempts) == [1])
      #expect(pending.allSatisfy { !$0.payload.contains(key) && !$0.payload.contains("127.0.0.1") && !($0.lastError ?? "").contains(key) })

      // `backflow alerts` shows it, and the undelivered notice, without the webhook.
      let listed = try await Self.backflow(scenario, ["alerts"])
      #expect(listed.status == 0, "\(listed.stderr)")
      #expect(listed.stdout.contains("users_to_crm") && listed.stdout.contains("volume_drop"))
      #expect(listed.stdout.contains("1 notification not yet delivered"))
      let json = try await Self.backflow(scenario, ["alerts", "--format", "json"])
      let document = try JSONValue.parse(json.stdout)
      #expect(document["format_version"] == .int(1))
      #expect(document["alerts"] == .array([
        .object([
          ("sync", .string("users_to_crm")), ("sync_id", .int(run.syncID)), ("alert", .string("volume_drop")),
          ("opened_at", try #require(try scenario.openState().openAlerts().first).openedAt.json), ("run_id", .int(run.id)),
          ("figure", .string("1 rows queried, 75% below the mean of 4 over the last 2 completed runs")),
          ("threshold", .string("50%")),
        ])
      ]))
      #expect(document["undelivered"].map { if case let .array(items) = $0 { items.count } else { 0 } } == 1)
      for output in [listed.stdout, listed.stderr, json.stdout, json.stderr] { #expect(!output.contains(key)) }
      #expect(server.requests.isEmpty)

      // The channel works again: the next run delivers what was kept, by channel name.
      scenario.environment["SLACK_WEBHOOK"] = "\(server.url)/services/\(key)"
      let later = try #require(try await scenario.apply().first)
      #expect(later.succeeded)
      #expect(!later.notes.contains { $0.contains("could not deliver") })
      #expect(server.requests.count == 1)
      let message = try #require(server.requests.first)
      #expect(message.path == "/services/\(key)")
      guard case let .string(text)? = message.body?["text"] else {
        Issue.record("no text in \(message.text)")
        return
      }
      #expect(text.contains("volume_drop") && text.contains("users_to_crm") && text.contains("Run: #\(run.id)"))
      #expect(text.contains("Figure: 1 rows queried, 75% below the mean of 4") && text.contains("Threshold: 50%"))
      #expect(try scenario.openState().pendingNotifications().isEmpty)
      #expect(try scenario.openState().openAlerts().count == 1)
      // The last two runs queried one row each: the mean caught up, the alert closes.
      _ = try await scenario.apply()
      #expect(server.requests.count == 2)
      guard case let .string(recovery)? = server.requests.last?.body?["text"] else {
        Issue.record("no recovery text")
        return
      }
      #expect(recovery.hasPrefix("Backflow recovered: volume_drop on sync users_to_crm"))
      #expect(recovery.contains("Figure: 1 rows queried, 0% below the mean of 1 over the last 2 completed runs"))
      #expect(try scenario.openState().openAlerts().isEmpty)
    }
  }

  @Test(arguments: Backend.allCases)
  func concurrentAppliesOnDifferentSyncsDoNotDoubleSend(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer(acceptingEveryPost: true) { server in
      let project = try Self.scenario(backend, hooksTo: server, alerts: "  - { when: failure, notify: [hooks] }\n")
      project.write([
        "syncs/users_to_crm2.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts2")
      ])
      try project.insert(Self.people)
      // Neither table exists: both syncs stop with an error.
      try project.crm("drop table contacts")

      // The first failure's notification meets a 503 and waits in the store.
      server.inject(.unavailable(), count: 1)
      let first = try #require(try await project.apply(selection: ["users_to_crm"]).first)
      #expect(first.run?.error != nil)
      #expect(try project.openState().pendingNotifications().count == 1)

      // Two applies at once, each with its own state connection and plan: both deliver what
      // is waiting after their run.
      let directory = project.directory
      let environment = project.environment
      async let a = Self.applyAlone("users_to_crm", in: directory, environment: environment)
      async let b = Self.applyAlone("users_to_crm2", in: directory, environment: environment)
      let outcomes = try await [a, b]
      #expect(outcomes.allSatisfy { $0?.run?.error != nil })

      let delivered = server.requests.dropFirst().compactMap(\.body)
      #expect(server.requests.count == 3, "\(server.requests.map(\.text))")
      #expect(delivered.map { $0["event"] } == [.string("alert.opened"), .string("alert.opened")])
      #expect(Set(delivered.compactMap { if case let .string(sync)? = $0["sync"] { sync } else { nil } }) == ["users_to_crm", "users_to_crm2"])
      #expect(delivered.first { $0["sync"] == .string("users_to_crm") }?["run_id"] == .int(try #require(first.run).id))
      #expect(try project.openState().pendingNotifications().isEmpty)
      #expect(try project.openState().openAlerts().map(\.syncName).sorted() == ["users_to_crm", "users_to_crm2"])
    }
  }

  @Test(arguments: Backend.allCases)
  func applyDueOpensFailureForASyncThatCannotBePlannedAndRecoversWhenItRuns(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer(acceptingEveryPost: true) { server in
      let scenario = try Self.scenario(backend, hooksTo: server, alerts: "  - { when: failure, notify: [hooks] }\n")
      scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "schedule: { every: 1h }\n"])
      try scenario.insert(Self.people)
      let first = try await Self.backflow(scenario, ["apply", "--due"])
      #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
      let id = try scenario.syncRecord().id

      // The model's table is gone: the plan fails, no run is recorded, the alert opens.
      try scenario.sql("alter table users rename to users_gone")
      try Self.makeDue(scenario)
      let broken = try await Self.backflow(scenario, ["apply", "--due"])
      #expect(broken.status == 1)
      #expect(broken.stdout.contains("alert failure opened: stopped with an error: could not plan"), "\(broken.stdout)")
      #expect(server.requests.count == 1)
      let opened = try #require(server.requests.first?.body)
      #expect(opened["event"] == .string("alert.opened") && opened["alert"] == .string("failure"))
      #expect(opened["sync_id"] == .int(id) && opened["run_id"] == JSONValue.null)

      // Back: the sync runs again (a sync that could not be planned is still due), and recovers.
      try scenario.sql("alter table users_gone rename to users")
      let fixed = try await Self.backflow(scenario, ["apply", "--due"])
      #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
      #expect(server.requests.count == 2)
      let closed = try #require(server.requests.last?.body)
      let latest = try #require(try scenario.openState().runs().first)
      #expect(closed["event"] == .string("alert.closed") && closed["run_id"] == .int(latest.id))
      #expect(try scenario.openState().openAlerts().isEmpty)
    }
  }

  @Test func aChannelThatFailedIsNotTriedAgainInTheSameApply() async throws {
    let scenario = try Self.scenario(
      .sqlite, "notifications:\n  oncall: { type: slack, webhook: \"${SLACK_WEBHOOK}\" }\nalerts:\n  - { when: failure, notify: [oncall] }\n")
    scenario.environment["SLACK_WEBHOOK"] = "http://127.0.0.1:1/services/KEY"
    scenario.write([
      "syncs/users_to_crm2.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts2")
    ])
    try scenario.insert(Self.people)
    try scenario.crm("drop table contacts")
    let outcomes = try await scenario.apply()
    #expect(outcomes.map(\.name) == ["users_to_crm", "users_to_crm2"])
    #expect(outcomes[0].notes.contains { $0.hasPrefix("could not deliver the alert.opened notification to oncall (failure on sync users_to_crm)") })
    // The second sync's delivery does not wait for the refused channel again, its own notice neither.
    #expect(outcomes[1].notes.filter { $0.hasPrefix("did not try the alert.opened notification to oncall") }.count == 2, "\(outcomes[1].notes)")
    #expect(!outcomes[1].notes.contains { $0.hasPrefix("could not deliver") })
    #expect(try scenario.openState().pendingNotifications().map(\.attempts) == [1, 0])
  }

  @Test(arguments: Backend.allCases)
  func notificationsOlderThanADayOrForAChannelNoLongerDeclaredAreDropped(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer(acceptingEveryPost: true) { server in
      let scenario = try Self.scenario(backend, hooksTo: server, alerts: "  - { when: failure, notify: [hooks] }\n")
      let state = try scenario.openState(writing: true)
      let event = AlertEvent(
        event: .opened, alert: "failure", sync: "users_to_crm", syncID: 1, runID: 1, figure: "stopped with an error: x",
        threshold: nil)
      try state.recordAlertChanges(
        syncID: 1, opened: [], closed: [],
        notifications: [("hooks", "alert.opened", event.payload), ("gone", "alert.opened", event.payload)])
      try state.recordAlertChanges(syncID: 1, opened: [], closed: [], notifications: [("hooks", "alert.opened", event.payload)])
      let table = backend == .postgres ? "backflow_state.notifications" : "notifications"
      let old = "update \(table) set created_at = '2000-01-01T00:00:00Z' where id = (select min(id) from \(table))"
      if backend == .postgres {
        try scenario.sql(old)
      } else {
        try SQLiteDatabase(path: scenario.directory.appendingPathComponent(".backflow/state.db").path).execute(old)
      }

      let notes = await AlertMonitor(project: try scenario.loadProject(), state: state).deliver()
      #expect(notes.count == 2, "\(notes)")
      #expect(notes.contains { $0.hasPrefix("alert.opened notification to hooks (failure on sync users_to_crm) was given up after 24 hours") })
      #expect(notes.contains { $0.contains("to gone (failure on sync users_to_crm) was dropped: no channel gone is declared") })
      #expect(server.requests.count == 1 && server.requests.first?.body?["sync"] == .string("users_to_crm"))
      #expect(try state.pendingNotifications().isEmpty)
    }
  }

  /// Moves every recorded run back a day, so an hourly sync is due again.
  static func makeDue(_ scenario: Scenario) throws {
    let update = "update \(scenario.backend == .postgres ? "backflow_state." : "")runs set started_at = '2000-01-01T00:00:00Z'"
    if scenario.backend == .postgres {
      try scenario.sql(update)
    } else {
      try SQLiteDatabase(path: scenario.directory.appendingPathComponent(".backflow/state.db").path).execute(update)
    }
  }

  /// Plans `name` into a plan file of its own and applies it with an engine and state connection
  /// of its own, as a separate `backflow apply --select NAME` would.
  static func applyAlone(_ name: String, in directory: URL, environment: [String: String]) async throws -> SyncOutcome? {
    let project = ProjectLoader(directory: directory, environment: environment).load().project
    let location = try #require(StateLocation(project.state.value))
    let planFile = directory.appendingPathComponent("\(name).plan")
    let writer = try PlanFileWriter(url: planFile)
    let plan = try Planner(project: project, directory: directory, state: try StateStore.open(location, in: directory))
      .plan(selection: [name], commit: nil, sink: writer)
    try writer.finish(plan, backflowVersion: "test")
    let engine = Engine(project: project, directory: directory, state: try StateStore.open(location, in: directory, writer: "test"))
    return try await engine.apply(planFile: planFile, selection: [name]).first
  }

  @Test(arguments: Backend.allCases)
  func anEmailNamesTheSyncRunFigureAndThreshold(backend: Backend) async throws {
    guard backend.available else { return }
    try await withSMTPServer(user: "alerts", password: "pa55word") { smtp in
      let scenario = try Self.scenario(
        backend,
        """
        notifications:
          team: { type: email, smtp: "${SMTP_URL}", from: backflow@example.com, to: [data@example.com, ops@example.com] }
        alerts:
          - { when: rejected_rows, threshold: 10%, notify: [team] }

        """)
      scenario.environment["SMTP_URL"] = "smtp://alerts:pa55word@127.0.0.1:\(smtp.port)"
      try scenario.crmRejects(tiers: ["bad"])
      try scenario.insert(Self.people)
      let outcome = try #require(try await scenario.apply().first)
      let run = try #require(outcome.run)
      #expect(!outcome.notes.contains { $0.contains("could not deliver") }, "\(outcome.notes)")

      let message = try #require(smtp.messages.first)
      #expect(smtp.messages.count == 1)
      #expect(message.user == "alerts" && message.from == "backflow@example.com")
      #expect(message.recipients == ["data@example.com", "ops@example.com"])
      let lines = message.data.components(separatedBy: "\r\n")
      #expect(lines.contains("Subject: Backflow alert: rejected_rows on sync users_to_crm"))
      #expect(lines.contains("To: data@example.com, ops@example.com") && lines.contains("From: backflow@example.com"))
      #expect(lines.contains("Content-Type: text/plain; charset=utf-8"))
      #expect(lines.contains("Sync: users_to_crm (ID \(run.syncID))") && lines.contains("Run: #\(run.id)"))
      #expect(lines.contains("Figure: 25% of rows rejected (1 of 4)") && lines.contains("Threshold: 10%"))
      #expect(!message.data.contains("pa55word"))
    }
  }

  @Test func aRefusedLoginIsReportedWithoutThePassword() async throws {
    try await withSMTPServer(user: "alerts", password: "right-password") { smtp in
      let here = SourceLocation(file: "backflow.yaml", line: 1, column: 1)
      let channel = NotificationChannel(
        name: Located("team", at: here), type: Located(.email, at: here),
        smtp: Located("smtp://alerts:wrong-password@127.0.0.1:\(smtp.port)", at: here, isSecret: true, written: "${SMTP_URL}"),
        from: Located("a@example.com", at: here), to: [Located("b@example.com", at: here)])
      await #expect {
        try await NotificationSender().send(.test(channel: "team"), to: channel)
      } throws: { error in
        let text = "\(error)"
        return text.contains("535") && text.contains("AUTH PLAIN") && !text.contains("wrong-password")
          && !text.contains(Data("\u{0}alerts\u{0}wrong-password".utf8).base64EncodedString())
      }
      #expect(smtp.messages.isEmpty && smtp.rejectedLogins == 1)
    }
  }

  @Test func notifyTestSendsToTheNamedChannelOnly() async throws {
    try await withProtocolServer(acceptingEveryPost: true) { server in
      let scenario = try Self.scenario(
        .sqlite,
        """
        notifications:
          hooks: { type: webhook, url: "\(server.url)/alerts", secret: "${ALERT_SECRET}" }
          oncall: { type: slack, webhook: "${SLACK_WEBHOOK}" }
          broken: { type: slack, webhook: "${BROKEN_WEBHOOK}" }

        """)
      scenario.environment["ALERT_SECRET"] = Self.secret
      scenario.environment["SLACK_WEBHOOK"] = "\(server.url)/services/T0/B0/SLACKKEY"
      scenario.environment["BROKEN_WEBHOOK"] = "http://127.0.0.1:1/services/T0/B0/BROKENKEY"

      let slack = try await Self.backflow(scenario, ["notify", "--test", "oncall"])
      #expect(slack.status == 0, "\(slack.stderr)")
      #expect(slack.stdout.contains("Sent a test message to oncall (slack)"))
      #expect(server.requests.map(\.path) == ["/services/T0/B0/SLACKKEY"])
      #expect(server.requests.last?.body?["text"].map { if case let .string(text) = $0 { text.hasPrefix("Backflow test notification") } else { false } } == true)

      let hook = try await Self.backflow(scenario, ["notify", "--test", "hooks"])
      #expect(hook.status == 0, "\(hook.stderr)")
      let request = try #require(server.requests.last)
      #expect(request.path == "/alerts" && request.body?["event"] == .string("test"))
      #expect(request.header("X-Backflow-Signature") == "sha256=" + (try await Self.pythonSignature(key: Self.secret, body: request.text)))

      let unknown = try await Self.backflow(scenario, ["notify", "--test", "hook"])
      #expect(unknown.status == 1 && unknown.stderr.contains("there is no notification channel \"hook\" under notifications in backflow.yaml (declared: hooks, oncall, broken); did you mean \"hooks\"?"))

      let broken = try await Self.backflow(scenario, ["notify", "--test", "broken"])
      #expect(broken.status == 1 && broken.stderr.contains("could not send a test message to broken (slack)"))
      #expect(!broken.stderr.contains("BROKENKEY") && !broken.stdout.contains("BROKENKEY"), "\(broken.stderr)")
      #expect(server.requests.count == 2)
    }
  }
}

extension String {
  fileprivate var json: JSONValue { .string(self) }
}

