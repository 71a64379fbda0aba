import BackflowConfig
import BackflowPostgres
import BackflowSQLite
import BackflowTestSupport
import Foundation
import Testing

/// `backflow apply` run as a user runs it: approval, plan files, exit codes, and `kill -9`.
@Suite("backflow apply")
struct ApplyCommandTests {
  static let sync = """
    model: users
    destination: local
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: first_name }
      - { from: plan, to: tier }

    """

  func withProject<Result>(users: Int = 3, _ body: (Scenario) throws -> Result) throws -> Result {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Self.sync])
    try scenario.insert((1...users).map { ($0, "user\($0)@example.com", "User \($0)", "pro") })
    return try body(scenario)
  }

  func backflow(_ arguments: [String], _ scenario: Scenario) throws -> BackflowProcess.Output {
    try BackflowProcess.run(arguments, in: scenario.directory, environment: scenario.environment)
  }

  @Test func awayFromATerminalItNeedsAutoApproveAndWritesNothingWithout() throws {
    try withProject { scenario in
      let refused = try backflow(["apply"], scenario)
      #expect(refused.status == 1)
      #expect(refused.stderr.contains("not at a terminal, so apply cannot ask: give --auto-approve"))
      #expect(!FileManager.default.fileExists(atPath: scenario.directory.appendingPathComponent(".backflow").path))
      #expect(try scenario.crmRows("select count(*) from contacts") == [["0"]])
    }
  }

  @Test func autoApproveShowsThePlanAppliesItAndSummarisesEachSync() throws {
    try withProject { scenario in
      let result = try backflow(["apply", "--auto-approve"], scenario)
      #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
      #expect(result.stdout.contains("+ users_to_crm will be created"))
      #expect(result.stdout.contains("users_to_crm (ID 1, run 1): succeeded in "))
      #expect(result.stdout.contains(" - 3 to add, 0 to change, 0 to remove; 3 succeeded\n"))
      #expect(result.stdout.hasSuffix("Apply complete: 1 sync succeeded.\n"))
      #expect(!result.stdout.contains("\u{1B}["))
      #expect(try scenario.crmRows("select count(*) from contacts") == [["3"]])
      let again = try backflow(["apply", "--auto-approve"], scenario)
      #expect(again.status == 0 && again.stdout.contains("No changes: the destinations match the models."))
      #expect(!again.stdout.contains("Apply complete"))
    }
  }

  @Test func autoApproveSendsANewSyncsRowsAsTheyArePlannedAndShowsThePlanAfter() throws {
    try withProject { scenario in
      let first = try backflow(["apply", "--auto-approve"], scenario)
      #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
      let announced = try #require(first.stdout.range(of: "Applying users_to_crm while planning: it has never run"))
      let summary = try #require(first.stdout.range(of: "users_to_crm (ID 1, run 1): succeeded in "))
      let plan = try #require(first.stdout.range(of: "+ users_to_crm will be created"))
      #expect(announced.lowerBound < summary.lowerBound && summary.lowerBound < plan.lowerBound)
      #expect(first.stdout.contains(" - 3 to add, 0 to change, 0 to remove; 3 succeeded\n"))
      // The run's counts, known only once every row was read, are recorded at its end.
      let runs = try backflow(["runs", "--format", "json"], scenario)
      guard case let .array(list)? = try JSONValue.parse(runs.stdout)["runs"], let run = list.first else {
        Issue.record("no runs in \(runs.stdout)")
        return
      }
      #expect(run["rows_queried"] == .int(3) && run["planned"]?["add"] == .int(3), "\(runs.stdout)")

      // Once it has run, its rows are planned whole, shown, then sent.
      try scenario.insert([(4, "user4@example.com", "User 4", "pro")])
      let second = try backflow(["apply", "--auto-approve"], scenario)
      #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
      #expect(!second.stdout.contains("while planning"))
      let planned = try #require(second.stdout.range(of: "+ 1 to add, ~ 0 to change, - 0 to remove"))
      let sent = try #require(second.stdout.range(of: "users_to_crm (ID 1, run 2): succeeded in "))
      #expect(planned.lowerBound < sent.lowerBound)
      #expect(second.stdout.contains(" - 1 to add, 0 to change, 0 to remove; 1 succeeded\n"))
    }
  }

  @Test func aPlanFileIsExecutedOnceAndThenRefusedAsStale() throws {
    try withProject { scenario in
      #expect(try backflow(["plan", "--out", "tfplan"], scenario).status == 0)
      let applied = try backflow(["apply", "tfplan"], scenario)
      #expect(applied.status == 0, "\(applied.stderr)")
      #expect(!applied.stdout.contains("will be created"))
      let stale = try backflow(["apply", "tfplan"], scenario)
      #expect(stale.status == 1)
      // Planned before the state store existed; the apply created it.
      #expect(stale.stderr.contains("error: the plan was made before the state store existed, and it has been written since"))
      #expect(stale.stderr.contains("run `backflow plan` again"))
    }
  }

  @Test func aRowTheDestinationRejectsMakesApplyExitOne() throws {
    try withProject { scenario in
      try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'x'))")
      try scenario.sql("update users set plan = 'x' where user_id = 2")
      let result = try backflow(["apply", "--auto-approve"], scenario)
      #expect(result.status == 1)
      #expect(result.stdout.contains("users_to_crm (ID 1, run 1): failed in "))
      #expect(result.stdout.contains("; 2 succeeded, 1 failed\n"))
      #expect(result.stdout.contains("Apply complete: 0 syncs succeeded, 1 failed."))
    }
  }

  /// Kills `apply` with SIGKILL once `started` says the destination has some rows, then applies
  /// again: the destination must end up equal to the model. The sync is new, so the run killed is
  /// one sent while planned, with no plan file; the one resuming is planned the usual way.
  func killAndResume(_ scenario: Scenario, started: () throws -> Bool) throws {
    let log = scenario.directory.appendingPathComponent("killed-apply.log")
    let killed = try BackflowProcess.kill(
      ["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment, log: log, once: started)
    #expect(killed, "apply finished before it could be killed; make the model bigger")
    #expect(try String(contentsOf: log, encoding: .utf8).contains("Applying users_to_crm while planning"))
    let resumed = try BackflowProcess.run(["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment)
    #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
    let after = try BackflowProcess.run(["plan", "--detailed-exitcode"], in: scenario.directory, environment: scenario.environment)
    #expect(after.status == 0, "\(after.stdout)")
  }

  /// A project of `users` generated users whose sync sends to `destination` (a flow mapping).
  func generatedProject(users: Int, destination: String, batch: String) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.useDestinations("  local: \(destination)")
    scenario.write(["syncs/users_to_crm.yaml": Self.sync + "batch: \(batch)\n"])
    try scenario.sql(
      """
      with recursive n(i) as (select 1 union all select i + 1 from n where i < \(users))
      insert into users select i, 'user' || i || '@example.com', 'User ' || i, case i % 3 when 0 then 'pro' else 'free' end from n;
      """)
    return scenario
  }

  @Test func killMinusNineDuringAnApplyToPostgreSQLLosesNoRow() throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let crm = try PostgresDatabase.create("kill")
    try crm.connect().execute("create table contacts (email text primary key, first_name text, tier text)")
    let scenario = try generatedProject(
      users: 40000, destination: "{ type: postgres, url: \"${CRM_URL}\" }", batch: "{ size: 100, concurrency: 2 }")
    scenario.environment["CRM_URL"] = crm.conninfo
    let connection = try crm.connect()
    try killAndResume(scenario) {
      let count = try connection.query("select count(*) from contacts").first?.first ?? nil
      return (count.flatMap { Int($0) } ?? 0) > 0
    }
    let model = try SQLiteDatabase(path: scenario.directory.appendingPathComponent("warehouse.db").path).query(
      "select email, first_name, plan from users order by email collate binary")
    let destination = try connection.query("select email, first_name, tier from contacts order by email collate \"C\"")
    #expect(destination.count == 40000 && destination == model)
  }

  @Test func killMinusNineDuringAnApplyOverHTTPLosesNoRow() async throws {
    try await withProtocolServer { server in
      let scenario = try generatedProject(
        users: 2000, destination: "{ type: http, url: \"\(server.url)\" }", batch: "{ size: 20, concurrency: 2 }")
      server.inject(.delay(.milliseconds(20)), count: 1000)
      try killAndResume(scenario) { server.requests.count >= 5 }
      let stored = server.records(in: "contacts")
      #expect(stored.count == 2000)
      #expect(Set(stored.map { $0.key.rendered(compact: true) }).count == 2000)
      let model = try scenario.sqlRows("select email, first_name, plan from users")
      let delivered = stored.map { record in
        [record.key, record.fields["first_name"] ?? .null, record.fields["tier"] ?? .null].map { value -> String? in
          if case let .string(text) = value { text } else { nil }
        }
      }
      #expect(Set(delivered) == Set(model))
    }
  }
}
