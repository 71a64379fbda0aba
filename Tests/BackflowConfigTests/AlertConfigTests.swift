import BackflowConfig
import BackflowTestSupport
import Testing

private let p = "backflow.yaml"
private let s = "syncs/s.yaml"

/// `notifications:` and `alerts:` in backflow.yaml (from line 8) with this text.
private func project(_ extra: String) -> String { ProjectFixture.projectFile + extra }

private let channels = """
  notifications:
    oncall: { type: slack, webhook: "${SLACK_WEBHOOK}" }
    hooks: { type: webhook, url: "https://alerts.example.com/backflow", secret: "${ALERT_SECRET}" }
    team: { type: email, smtp: "smtp://alerts:pw@mail.example.com:587", from: backflow@example.com, to: [data@example.com, ops@example.com] }

  """
private let secrets = ["SLACK_WEBHOOK": "https://hooks.slack.com/services/T0/B0/KEY", "ALERT_SECRET": "s3cret"]

/// Errors in `notifications:` and `alerts:`, checked by `DiagnosticTests.reportsExactlyTheseErrors`.
let alertDiagnosticCases: [DiagnosticCase] = [
  DiagnosticCase(
    name: "unknown alert key with did you mean",
    files: [p: project("alerts:\n  - { when: failure, notfy: [x] }\n")],
    errors: [
      .error(p, 9, 5, "alerts[0] is missing required key \"notify\""),
      .error(p, 9, 22, "unknown key \"notfy\" in alerts[0]; did you mean \"notify\"?"),
    ]),
  DiagnosticCase(
    name: "unknown when with did you mean",
    files: [p: project(channels + "alerts:\n  - { when: failur, notify: [oncall] }\n")],
    environment: secrets,
    errors: [.error(p, 13, 13, "alerts[0].when must be one of failure, rejected_rows, volume_drop, slow, got \"failur\"; did you mean \"failure\"?")]),
  DiagnosticCase(
    name: "unknown channel with did you mean, in backflow.yaml and in a sync",
    files: [
      p: project(channels + "alerts:\n  - { when: failure, notify: [oncal] }\n"),
      s: DiagnosticCase.sync("alerts:\n  - { when: slow, threshold: 10m, notify: [teams] }"),
    ],
    environment: secrets,
    errors: [
      .error(p, 13, 31, "notification channel \"oncal\" is not declared in backflow.yaml under notifications; did you mean \"oncall\"?"),
      .error(s, 6, 44, "notification channel \"teams\" is not declared in backflow.yaml under notifications; did you mean \"team\"?"),
    ]),
  DiagnosticCase(
    name: "thresholds are parsed strictly",
    files: [
      p: project(
        channels + """
          alerts:
            - { when: rejected_rows, threshold: 5 %, notify: [oncall] }
            - { when: volume_drop, threshold: "50", notify: [oncall] }
            - { when: slow, threshold: 10 minutes, notify: [oncall] }

          """)
    ],
    environment: secrets,
    errors: [
      .error(p, 13, 39, "alerts[0].threshold: rejected_rows alerts take a percentage like 5% or 12.5%"),
      .error(p, 14, 37, "alerts[1].threshold: volume_drop alerts take a percentage like 5% or 12.5%, from more than 0% and less than 100%, got \"50\""),
      .error(p, 15, 30, "alerts[2].threshold: slow alerts take a duration like 10m, 1h30m or 90s, got \"10 minutes\""),
    ]),
  DiagnosticCase(
    name: "a threshold where none fits, runs where it is not used, and a missing threshold",
    files: [
      p: project(
        channels + """
          alerts:
            - { when: failure, threshold: 5%, notify: [oncall] }
            - { when: slow, threshold: 10m, runs: 3, notify: [oncall] }
            - { when: rejected_rows, notify: [oncall] }
            - { when: volume_drop, threshold: 100%, notify: [oncall] }

          """)
    ],
    environment: secrets,
    errors: [
      .error(p, 13, 33, "alerts[0].threshold: failure alerts have no threshold"),
      .error(p, 14, 41, "alerts[1].runs is only used by volume_drop alerts"),
      .error(p, 15, 5, "alerts[2]: rejected_rows alerts need a threshold, e.g. threshold: 5%"),
      .error(p, 16, 37, "alerts[3].threshold: volume_drop alerts take a percentage"),
    ]),
  DiagnosticCase(
    name: "one entry per when",
    files: [p: project(channels + "alerts:\n  - { when: failure, notify: [oncall] }\n  - { when: failure, notify: [hooks] }\n")],
    environment: secrets,
    errors: [.error(p, 14, 13, "alerts[1]: when failure is already set at line 13; one entry per when")]),
  DiagnosticCase(
    name: "channel keys of another type, missing keys, bad URLs and addresses",
    files: [
      p: project(
        """
        notifications:
          a: { type: slack, url: "https://hooks.example.com/x" }
          b: { type: webhook, url: "ftp://example.com", secret: k }
          c: { type: email, smtp: "http://mail.example.com", from: nobody, to: [] }
          d: { type: pager }

        """)
    ],
    errors: [
      .error(p, 9, 6, "notifications.a is a slack notification and needs \"webhook\""),
      .error(p, 9, 21, "\"url\" is not used by slack notifications; slack notifications use webhook"),
      .error(p, 10, 28, "notifications.b.url must be an http:// or https:// URL"),
      .error(p, 11, 27, "notifications.c.smtp must be smtp://user:password@host:port (STARTTLS when offered) or smtps://… (TLS)"),
      .error(p, 11, 60, "notifications.c.from: must be one mail address like data@example.com, got \"nobody\""),
      .error(p, 11, 72, "notifications.c.to must name at least one address"),
      .error(p, 12, 14, "notifications.d.type must be one of slack, webhook, email, got \"pager\""),
    ]),
  DiagnosticCase(
    name: "an SMTP URL from the environment is judged without being shown",
    files: [p: project("notifications:\n  team: { type: email, smtp: \"${SMTP_URL}\", from: a@example.com, to: b@example.com }\n")],
    environment: ["SMTP_URL": "smtp//alerts:hunter2@mail.example.com"],
    errors: [.error(p, 9, 30, "notifications.team.smtp must be smtp://user:password@host:port (STARTTLS when offered) or smtps://… (TLS) (the value read from the environment is not)")]),
]

@Suite("Alert config")
struct AlertConfigTests {
  /// The cases' positions and messages are checked with every other diagnostic (DiagnosticTests);
  /// here, that no value read from the environment shows in any of them.
  @Test(arguments: alertDiagnosticCases.filter { !$0.environment.isEmpty })
  func noDiagnosticShowsASecret(_ testCase: DiagnosticCase) {
    let loaded = ProjectFixture.load(testCase.files, environment: testCase.environment)
    #expect(loaded.diagnostics.hasErrors)
    for diagnostic in loaded.diagnostics.all {
      for secret in testCase.environment.values { #expect(!diagnostic.message.contains(secret), "\(diagnostic)") }
    }
  }

  @Test func aSyncsEntriesReplaceTheProjectsByWhen() throws {
    let loaded = ProjectFixture.load(
      [
        p: project(
          channels + """
            alerts:
              - { when: failure, notify: [oncall] }
              - { when: rejected_rows, threshold: 5%, notify: [oncall, hooks] }
              - { when: volume_drop, threshold: 50%, runs: 3, notify: [hooks], recovery: false }

            """),
        s: DiagnosticCase.sync(
          """
          alerts:
            - { when: rejected_rows, notify: [] }
            - { when: failure, notify: [team] }
            - { when: slow, threshold: 1h30m, notify: [oncall] }
          """),
        "syncs/t.yaml": DiagnosticCase.sync(""),
      ], environment: secrets)
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all)")
    let project = loaded.project
    #expect(project.notifications.map(\.name.value) == ["oncall", "hooks", "team"])
    #expect(project.notifications[0].url?.isSecret == true && project.notifications[1].secret?.isSecret == true)
    #expect(project.notifications[2].to.map(\.value) == ["data@example.com", "ops@example.com"])

    let s = try #require(project.sync(named: "s"))
    let rules = project.alertRules(for: s)
    #expect(rules.map(\.when.value) == [.failure, .volumeDrop, .slow])
    #expect(rules.map { $0.notify.map(\.value) } == [["team"], ["hooks"], ["oncall"]])
    #expect(rules[1].runCount == 3 && rules[1].recovery.value == false && rules[1].threshold?.value == .percent(50))
    #expect(rules[2].threshold?.value.description == "1h30m")

    let t = try #require(project.sync(named: "t"))
    #expect(project.alertRules(for: t).map(\.when.value) == [.failure, .rejectedRows, .volumeDrop])
    #expect(project.alertRules(for: t)[2].runCount == 3)
  }

  @Test func channelsSerialiseWithoutAddressesOrSecrets() throws {
    let loaded = ProjectFixture.load([p: project(channels)], environment: secrets)
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    let json = try JSONValue(encoding: loaded.project.notifications).rendered(compact: true)
    #expect(json == #"[{"name":"oncall","type":"slack"},{"name":"hooks","type":"webhook"},{"name":"team","type":"email"}]"#)
  }

  @Test(arguments: [
    ("smtp://mail.example.com", SMTPAddress?.some(.init("smtp://mail.example.com:587")!)),
    ("smtps://u%40x:p%2Fw@mail.example.com", nil),
    ("smtp://mail.example.com/path", nil),
    ("smtp://:25", nil),
  ])
  func smtpAddresses(text: String, equal: SMTPAddress?) throws {
    let address = SMTPAddress(text)
    if text.hasPrefix("smtps://") {
      let parsed = try #require(address)
      #expect(parsed.implicitTLS && parsed.port == 465 && parsed.user == "u@x" && parsed.password == "p/w")
    } else {
      #expect(address == equal)
    }
  }
}
