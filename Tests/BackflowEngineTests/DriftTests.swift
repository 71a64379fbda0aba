import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowPostgres
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow drift` through the library: config drift against state, and data drift read back
/// from real SQLite and PostgreSQL destination tables after a real apply.
@Suite("drift")
struct DriftTests {
  static let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
    (3, "katherine@example.com", "Katherine", "pro"), (4, "annie@example.com", "Annie", "team"),
  ]

  /// A scenario whose CRM is on `backend` (SQLite `local`, or a PostgreSQL `crm_db`), with the
  /// warehouse and state on the same backend, the four people applied once in `mode`.
  final class Applied {
    let scenario: Scenario
    let crm: PostgresDatabase?

    init(_ backend: Backend, mode: String = "upsert") async throws {
      scenario = try Scenario(backend)
      crm = backend == .postgres ? try scenario.addPostgresCRM() : nil
      let destination = crm == nil ? "local" : "crm_db"
      scenario.write([
        "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(
          of: "destination: local\nobject: contacts", with: "destination: \(destination)\nobject: contacts\nmode: \(mode)")
      ])
      try scenario.insert(DriftTests.people)
      try await scenario.apply()
    }

    /// Runs SQL in the CRM, whichever it is.
    func crmSQL(_ statements: String) throws {
      if let crm { try crm.connect().execute(statements) } else { try scenario.crm(statements) }
    }

    func crmRows(_ query: String) throws -> [[String?]] {
      if let crm { return try crm.connect().query(query) }
      return try scenario.crmRows(query)
    }

    var destinationName: String { crm == nil ? "local" : "crm_db" }

    func checker() throws -> DataDrift {
      DataDrift(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState())
    }

    func report() async throws -> DriftReport {
      try await checker().report(commit: nil)
    }
  }

  @Test(arguments: Backend.allCases)
  func editedMissingAndStrangerRecordsAreDataDrift(backend: Backend) async throws {
    guard backend.available else { return }
    let applied = try await Applied(backend, mode: "mirror")
    #expect(try await !applied.report().hasDrift)

    try applied.crmSQL(
      """
      update contacts set tier = 'free' where email = 'ada@example.com';
      delete from contacts where email = 'grace@example.com';
      insert into contacts values ('stranger@example.com', 'Stranger', 'pro');
      """)
    let report = try await applied.report()
    let sync = try #require(report.syncs.first)
    #expect(report.hasDrift && !report.hasErrors && sync.config.status == .inSync)
    let data = try #require(sync.data)
    #expect(data.status == .checked && data.destination == "\(applied.destinationName)/contacts")
    #expect(data.compared == 4 && data.differing == 1 && data.missing == 1 && data.extra == 1 && data.pending == 0)
    #expect(
      data.differingSample == [
        .init(key: "1", match: "ada@example.com", fields: [.init(name: "tier", destination: "free", written: "pro")])
      ])
    #expect(data.missingSample == [.init(key: "2", match: "grace@example.com")])
    #expect(data.extraSample == ["stranger@example.com"])
  }

  @Test(arguments: Backend.allCases)
  func aPendingModelChangeIsNotDrift(backend: Backend) async throws {
    guard backend.available else { return }
    let applied = try await Applied(backend)
    // Katherine's plan changes in the model, Mary joins it and Annie leaves it: all three are
    // pending changes, whatever their records hold now.
    try applied.scenario.sql(
      """
      update users set plan = 'team' where user_id = 3;
      insert into users values (5, 'mary@example.com', 'Mary', 'free');
      delete from users where user_id = 4;
      """)
    try applied.crmSQL("update contacts set first_name = 'Kay' where email = 'katherine@example.com'")
    let data = try #require(try await applied.report().syncs.first?.data)
    #expect(data.status == .checked && !data.hasDrift)
    #expect(data.compared == 2 && data.pending == 3 && data.extra == nil)
  }

  @Test(arguments: Backend.allCases)
  func valuesCompareAsTheDestinationStoresThem(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    let crm = backend == .postgres ? try scenario.addPostgresCRM() : nil
    let table = "create table scores (email text primary key, score numeric, payload \(crm == nil ? "text" : "jsonb"), age integer)"
    if let crm { try crm.connect().execute(table) } else { try scenario.crm(table) }
    scenario.write([
      "syncs/models/users.yaml": """
        source: warehouse
        primary_key: user_id
        query: |
          select user_id, email, 1.5 as score, '{"a": 1, "b": 2}' as payload, '42' as age from users

        """,
      "syncs/users_to_crm.yaml": """
        model: users
        destination: \(crm == nil ? "local" : "crm_db")
        object: scores
        match: { email: email }
        mappings:
          - { from: score, to: score }
          - { from: payload, to: payload }
          - { from: age, to: age }

        """,
    ])
    try scenario.insert(Array(Self.people.prefix(2)))
    try await scenario.apply()
    let checker = { DataDrift(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState()) }
    #expect(try await !checker().report(commit: nil).hasDrift)
    func run(_ sql: String) throws {
      if let crm { try crm.connect().execute(sql) } else { try scenario.crm(sql) }
    }
    // The same number written differently is the same value in a numeric column.
    try run("update scores set score = 1.50")
    if crm != nil {
      // jsonb ignores key order and spacing.
      try run("update scores set payload = '{\"b\":2,   \"a\":1}'")
    }
    #expect(try await !checker().report(commit: nil).hasDrift)

    try run("update scores set score = 2, age = 41 where email = 'ada@example.com'")
    let data = try #require(try await checker().report(commit: nil).syncs.first?.data)
    #expect(data.differing == 1 && data.missing == 0)
    let fields = try #require(data.differingSample.first?.fields)
    #expect(fields.map(\.name) == ["score", "age"])
    #expect(fields.map(\.destination) == ["2", "41"] && fields.map(\.written) == ["1.5", "42"])
  }

  @Test(arguments: Backend.allCases)
  func repairMakesTheNextApplyResendTheDriftedRecords(backend: Backend) async throws {
    guard backend.available else { return }
    let applied = try await Applied(backend)
    try applied.crmSQL(
      """
      update contacts set tier = 'free', first_name = 'A.' where email = 'ada@example.com';
      delete from contacts where email = 'grace@example.com';
      """)
    let checker = try applied.checker()
    var report = try await checker.report(commit: nil)
    let dropped = try checker.repair(&report, writable: try applied.scenario.openState(writing: true))
    #expect(dropped == [1: 2] && report.syncs.first?.data?.repaired == 2)
    #expect(try applied.scenario.snapshot().map(\.key) == ["3", "4"])
    let plan = try applied.scenario.plan().sync()
    #expect(plan.data?.add == 2 && plan.data?.change == 0 && plan.data?.sampleKeys[.add] == ["1", "2"])

    try await applied.scenario.apply()
    #expect(
      try applied.crmRows("select email, first_name, tier from contacts order by email") == [
        ["ada@example.com", "Ada", "pro"], ["annie@example.com", "Annie", "team"],
        ["grace@example.com", "Grace", "free"], ["katherine@example.com", "Katherine", "pro"],
      ])
    #expect(try await !applied.report().hasDrift)
  }

  // MARK: Config drift

  @Test func aChangedMappingIsConfigDriftWithItsPathsAndCommit() async throws {
    let applied = try await Applied(.sqlite)
    applied.scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "to: tier", with: "to: first_name")
        .replacingOccurrences(of: "{ from: first_name, to: first_name }", with: "{ from: first_name, to: tier }")
        + "mode: upsert\n"
    ])
    let report = try await applied.report()
    let sync = try #require(report.syncs.first)
    #expect(sync.config.status == .changed && report.hasDrift)
    #expect(
      sync.config.changes == [
        ConfigChange(path: "mappings[0].to", before: .string("first_name"), after: .string("tier")),
        ConfigChange(path: "mappings[1].to", before: .string("tier"), after: .string("first_name")),
      ])
    let appliedAt = try applied.scenario.syncRecord().appliedAt
    #expect(sync.config.appliedAt == appliedAt && appliedAt != nil)
    // Every row's fingerprint changed with the mapping: they are pending, not compared.
    #expect(sync.data?.status == .checked && sync.data?.compared == 0 && sync.data?.pending == 4)
  }

  @Test func aMovedDestinationIsNotReadUntilApplied() async throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let applied = try await Applied(.sqlite)
    _ = try applied.scenario.addPostgresCRM()
    applied.scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: crm_db")
    ])
    let sync = try #require(try await applied.report().syncs.first)
    #expect(sync.config.changes.contains { $0.path == "destination.name" })
    guard case let .notChecked(reason)? = sync.data?.status else { throw ScenarioError("data was checked") }
    #expect(reason.contains("destination.name") && reason.hasSuffix("apply first"))
  }

  @Test func orphanedAndNeverAppliedSyncsAreConfigDrift() async throws {
    let applied = try await Applied(.sqlite)
    let scenario = applied.scenario
    scenario.write(["syncs/second.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts\nenabled: false")])
    try await scenario.apply()
    try scenario.remove("syncs/second.yaml")
    scenario.write(["syncs/third.yaml": Scenario.sync])
    let report = try await applied.report()
    #expect(report.syncs.map(\.name) == ["third", "users_to_crm", "second"])
    #expect(report.syncs.map(\.config.status) == [.neverApplied, .inSync, .orphaned])
    let secondID = try scenario.openState().syncs().last?.id
    #expect(report.syncs[0].id == nil && report.syncs[2].id == secondID && secondID != nil)
    #expect(report.syncs[2].config.appliedAt != nil && report.syncs[2].data == nil)
    guard case let .notChecked(reason)? = report.syncs[0].data?.status else { throw ScenarioError("third was checked") }
    #expect(reason.hasPrefix("never applied"))
    #expect(report.hasDrift && !report.syncs[1].hasDrift)

    let selected = try DriftReport.configDrift(
      project: scenario.loadProject(), records: try scenario.openState().syncs(), selection: ["users_to_crm"], commit: nil)
    #expect(selected.syncs.map(\.name) == ["users_to_crm"] && !selected.hasDrift)
  }

  @Test func anHTTPDestinationIsNotCheckedAndSaysWhy() async throws {
    try await withProtocolServer { server in
      let scenario = try Scenario(.sqlite)
      try scenario.addDestination("api: { type: http, url: \"\(server.url)\" }")
      scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: api")])
      try scenario.insert(Self.people)
      try await scenario.apply()
      let report = try await DataDrift(
        project: scenario.loadProject(), directory: scenario.directory, state: scenario.openState()
      ).report(commit: nil)
      #expect(
        report.syncs.first?.data?.status
          == .notChecked(
            "the destination does not declare readable: true, so its records cannot be read back (the HTTP protocol "
              + "reads records only through the read endpoints, docs/destinations.md)"))
      #expect(!report.hasDrift && !report.hasErrors)
    }
  }

  @Test func anUnreadableDestinationIsAnErrorNotDrift() async throws {
    let applied = try await Applied(.sqlite)
    try applied.scenario.crm("drop table contacts")
    let report = try await applied.report()
    guard case let .failed(message)? = report.syncs.first?.data?.status else { throw ScenarioError("no failure") }
    #expect(message.hasPrefix("table contacts does not exist") && report.hasErrors && !report.hasDrift)
  }
}
