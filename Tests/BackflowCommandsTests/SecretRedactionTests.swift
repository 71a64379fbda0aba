import BackflowTestSupport
import Foundation
import Testing

/// A password, token or key in a state URL, a source's connection string or a destination's URL
/// shows nowhere: not in any output format, plan file, GitHub summary, error or the state store.
@Suite("secrets in every output", .enabled(if: TestEnvironment.postgresURL != nil))
struct SecretRedactionTests {
  static let secret = "hunter2-Sekret"

  /// The state URL with the password in user info and as a query parameter, and a libpq
  /// key=value string with it.
  static func stateLocations(_ database: PostgresDatabase) -> [String] {
    [
      "postgresql://postgres:\(secret)@/\(database.name)",
      "postgresql:///\(database.name)?password=\(secret)&connect_timeout=10",
      "\(database.conninfo) password=\(secret)",
    ]
  }

  /// Fails the test where `text` holds the secret.
  static func expectMasked(_ text: String, _ what: String) {
    #expect(!text.contains(secret), "\(what) shows the secret:\n\(text)")
  }

  @Test func noSecretInAnyOutputPlanFileSummaryOrState() async throws {
    try await withProtocolServer { server in
      let port = server.port
      try await onThreadOfItsOwn { try Self.everyOutput(port: port) }
    }
  }

  static func everyOutput(port: Int) throws {
    let scenario = try Scenario(.postgres)
    let warehouse = try #require(scenario.postgres)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "free")])
    // Written into backflow.yaml, not read from the environment: a key=value source and an http
    // destination with user info.
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    scenario.write([
      "backflow.yaml": project.replacingOccurrences(
        of: "url: \"${WAREHOUSE_URL}\"", with: "url: \"\(warehouse.conninfo) password=\(secret)\""),
      "syncs/users_to_api.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: api"),
    ])
    try scenario.addDestination("api: { type: http, url: \"http://backflow:\(secret)@127.0.0.1:\(port)\", retries: 0 }")

    for (index, state) in stateLocations(warehouse).enumerated() {
      let summary = scenario.directory.appendingPathComponent("summary-\(index).md")
      let planFile = "tfplan-\(index)"
      var outputs: [(String, BackflowProcess.Output)] = []
      for format in ["text", "json", "markdown"] {
        outputs.append(("plan --format \(format)", try scenario.backflow(["plan", "--state", state, "--format", format])))
      }
      outputs.append(("plan --out", try scenario.backflow(["plan", "--state", state, "--out", planFile])))
      scenario.environment["GITHUB_ACTIONS"] = "true"
      scenario.environment["GITHUB_STEP_SUMMARY"] = summary.path
      outputs.append(("apply", try scenario.backflow(["apply", "--state", state, planFile])))
      scenario.environment["GITHUB_ACTIONS"] = nil
      for format in ["text", "json"] {
        outputs.append(("drift --format \(format)", try scenario.backflow(["drift", "--state", state, "--format", format])))
      }
      outputs.append(("runs", try scenario.backflow(["runs", "--state", state])))
      for (command, output) in outputs {
        #expect(output.status == 0 || command.hasPrefix("drift"), "\(command): \(output.stdout)\(output.stderr)")
        expectMasked(output.stdout + output.stderr, "\(command) with state \(index)")
      }
      // What plan shows of the state is the URL with its password masked.
      let plan = try #require(outputs.first?.1.stdout)
      #expect(plan.contains("***"), "\(plan)")
      expectMasked(try String(contentsOf: scenario.directory.appendingPathComponent(planFile), encoding: .utf8), "the plan file")
      expectMasked(try String(contentsOf: summary, encoding: .utf8), "the GitHub summary")
    }
    // A destination that cannot be reached: its error, in the output and in the run state keeps.
    try scenario.addDestination("dead: { type: http, url: \"http://backflow:\(secret)@127.0.0.1:1\", retries: 0 }")
    scenario.write([
      "syncs/users_to_dead.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: dead")
    ])
    let failed = try scenario.backflow(["apply", "--auto-approve", "--select", "users_to_dead"])
    #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
    expectMasked(failed.stdout + failed.stderr, "a failed apply")
    // The applied config, the runs and everything else the state store holds.
    let connection = try warehouse.connect()
    let tables = try connection.query(
      "select table_name from information_schema.tables where table_schema = 'backflow_state'")
    #expect(tables.count > 3)
    for table in tables.compactMap(\.first).compactMap({ $0 }) {
      let rows = try connection.query("select coalesce(string_agg(t::text, '\n'), '') from backflow_state.\(table) t")
      expectMasked(rows.first?.first.flatMap { $0 } ?? "", "state table \(table)")
    }
    let config = try connection.query("select config from backflow_state.syncs where name = 'users_to_api'")
    #expect(config.first?.first??.contains("http://backflow:***@127.0.0.1") == true, "\(config)")
  }

  /// A URL written in backflow.yaml that validation refuses is quoted in the message, masked.
  @Test func aRefusedURLIsQuotedWithoutItsPassword() async throws {
    let output = try await onThreadOfItsOwn {
      let scenario = try Scenario(.sqlite)
      try scenario.addDestination("api: { type: http, url: \"ftp://backflow:\(Self.secret)@crm.example.com\" }")
      return try scenario.backflow(["validate"])
    }
    #expect(output.status == 1)
    #expect((output.stdout + output.stderr).contains("ftp://backflow:***@crm.example.com"), "\(output.stdout)\(output.stderr)")
    Self.expectMasked(output.stdout + output.stderr, "validate")
  }

  /// State URLs that cannot be used, each failing with an error that names the problem and not
  /// the secret.
  @Test(arguments: [
    "postgresql://postgres:\(secret)@localhost:54x32/db",
    "postgresql:///db?password=\(secret)&sslmode=bogus",
    "postgresql://postgres:\(secret)@[::1/db",
    "postgresql:///db?token=\(secret)",
    "host=127.0.0.1 port=1 password=\(secret)",
    "sslmode=bogus password=\(secret)",
    "password=\(secret) no_such_keyword=1",
  ])
  func aStateURLThatCannotBeUsedFailsWithoutShowingTheSecret(state: String) async throws {
    let output = try await onThreadOfItsOwn {
      let scenario = try Scenario(.sqlite)
      return try scenario.backflow(["plan", "--state", state])
    }
    #expect(output.status == 1)
    #expect(!output.stderr.isEmpty)
    Self.expectMasked(output.stdout + output.stderr, "plan --state \(state)")
  }
}
