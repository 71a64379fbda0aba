import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// The MySQL driver against the real MariaDB server `make test` starts: as a destination for
/// SQLite and PostgreSQL warehouses, and as a source.
@Suite("MySQL", .enabled(if: TestEnvironment.mysqlURL != nil))
struct MySQLApplyTests {
  static let people = DriftTests.people

  /// A scenario on `backend` whose sync writes the CRM table on a MySQL database of its own.
  static func scenario(
    _ backend: Backend, sync extra: String = "", table: String? = nil
  ) throws -> (Scenario, MySQLDatabase) {
    let scenario = try Scenario(backend)
    let crm = try table.map { try scenario.addMySQLCRM(table: $0) } ?? scenario.addMySQLCRM()
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: crm_mysql")
        + extra
    ])
    return (scenario, crm)
  }

  /// Declares `shop` as a mysql source and points the `users` model at `query` on it.
  static func useModel(on shop: MySQLDatabase, in scenario: Scenario, key: String, query: String) throws {
    scenario.environment["SHOP_URL"] = shop.url
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    scenario.write([
      "backflow.yaml": project.replacingOccurrences(
        of: "sources:\n", with: "sources:\n  shop: { type: mysql, url: \"${SHOP_URL}\" }\n"),
      "syncs/models/users.yaml": "source: shop\nprimary_key: \(key)\nquery: \(query)\n",
    ])
  }

  @Test(arguments: Backend.allCases)
  func initialAndIncrementalRunsKeepTheTableInStep(backend: Backend) async throws {
    guard backend.available else { return }
    let (scenario, crm) = try Self.scenario(backend, sync: "on_delete: delete\n")
    try scenario.insert(Self.people)
    let first = try await scenario.apply()
    #expect(try first.sync().succeeded && first.run().succeeded == OperationCounts(add: 4))
    #expect(
      try crm.query("select email, first_name, tier from contacts order by email") == [
        ["ada@example.com", "Ada", "pro"], ["annie@example.com", "Annie", "team"],
        ["grace@example.com", "Grace", "free"], ["katherine@example.com", "Katherine", "pro"],
      ])

    try scenario.sql(
      """
      update users set plan = 'team' where user_id = 1;
      insert into users values (5, 'mary@example.com', 'Mary', 'free');
      delete from users where user_id = 2;
      """)
    let second = try await scenario.apply()
    #expect(try second.run().succeeded == OperationCounts(add: 1, change: 1, remove: 1))
    #expect(
      try crm.query("select email, tier from contacts order by email") == [
        ["ada@example.com", "team"], ["annie@example.com", "team"], ["katherine@example.com", "pro"],
        ["mary@example.com", "free"],
      ])
    // Nothing changed: nothing is sent.
    let third = try await scenario.apply()
    #expect(try third.sync().run == nil || third.run().attempted == OperationCounts())
  }

  @Test func aRecordTheServerRefusesFailsAloneAndIsSentAgainNextRun() async throws {
    let (scenario, crm) = try Self.scenario(
      .sqlite,
      table: "create table contacts (email varchar(255) primary key, first_name varchar(100), tier varchar(4))")
    try scenario.insert(Self.people + [(5, "mary@example.com", "Mary", "enterprise")])
    let first = try await scenario.apply()
    let run = try first.run()
    #expect(run.succeeded == OperationCounts(add: 4) && run.failed == OperationCounts(add: 1))
    #expect(try crm.query("select count(*) from contacts") == [["4"]])
    #expect(try !scenario.snapshot().contains { $0.key == "5" })
    let failed = try scenario.openState().failures(runID: run.id, limit: 10)
    #expect(failed.map(\.key) == ["5"])
    #expect(failed.first?.reason.contains("Data too long for column 'tier'") == true)

    try crm.execute("alter table contacts modify tier varchar(20)")
    let second = try await scenario.apply()
    #expect(try second.run().succeeded == OperationCounts(add: 1))
    #expect(try crm.query("select tier from contacts where email = 'mary@example.com'") == [["enterprise"]])
  }

  @Test func aMatchFieldWithoutAUniqueIndexIsRefusedBeforeAnythingIsSent() async throws {
    let (scenario, crm) = try Self.scenario(
      .sqlite, table: "create table contacts (email varchar(255), first_name varchar(100), tier varchar(20), key (email))")
    try scenario.insert(Self.people)
    let error = try #require(try await scenario.apply().run().error)
    #expect(error.contains("the match field email of table contacts needs a unique index"), "\(error)")
    #expect(error.contains("ALTER TABLE contacts ADD UNIQUE (email)"), "\(error)")
    #expect(try crm.query("select count(*) from contacts") == [["0"]])
  }

  @Test func aMissingTableSaysHowToCreateIt() async throws {
    let (scenario, _) = try Self.scenario(.sqlite, table: "create table other (id int)")
    try scenario.insert(Self.people)
    let error = try #require(try await scenario.apply().run().error)
    #expect(error.contains("table contacts does not exist"), "\(error)")
    #expect(error.contains("CREATE TABLE contacts (email varchar(255) PRIMARY KEY"), "\(error)")
  }

  @Test func driftSeesHandEditsMissingAndStrangerRecords() async throws {
    let (scenario, crm) = try Self.scenario(.sqlite, sync: "mode: mirror\n")
    try scenario.insert(Self.people)
    try await scenario.apply()
    let checker = { DataDrift(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState()) }
    #expect(try await !checker().report(commit: nil).hasDrift)

    try crm.execute(
      "update contacts set tier = 'free' where email = 'ada@example.com'",
      // A change of case is drift, though the column's collation ignores case.
      "update contacts set first_name = 'annie' where email = 'annie@example.com'",
      "delete from contacts where email = 'grace@example.com'",
      "insert into contacts values ('stranger@example.com', 'Stranger', 'pro')")
    let report = try await checker().report(commit: nil)
    let data = try #require(report.syncs.first?.data)
    #expect(report.hasDrift && data.status == .checked && data.destination == "crm_mysql/contacts")
    #expect(data.compared == 4 && data.differing == 2 && data.missing == 1 && data.extra == 1)
    #expect(
      Set(data.differingSample.flatMap { $0.fields.map { "\($0.name):\($0.destination ?? "NULL")→\($0.written ?? "NULL")" } })
        == ["tier:free→pro", "first_name:annie→Annie"])
    #expect(data.missingSample.map(\.match) == ["grace@example.com"])
    #expect(data.extraSample == ["stranger@example.com"])
  }

  @Test func mirrorsFirstRunDeletesRecordsAbsentFromTheModel() async throws {
    let (scenario, crm) = try Self.scenario(
      .sqlite, sync: "mode: mirror\n",
      table: "create table contacts (email varchar(255) unique, first_name varchar(100), tier varchar(20))")
    try crm.execute("insert into contacts values ('stranger@example.com', 'Stranger', 'pro'), (NULL, 'Nobody', 'free')")
    try scenario.insert(Self.people)
    let outcome = try await scenario.apply().sync()
    #expect(outcome.succeeded, "\(outcome.error ?? "")")
    #expect(try crm.query("select count(*) from contacts where email = 'stranger@example.com'") == [["0"]])
    #expect(try crm.query("select count(*) from contacts") == [["5"]], "a NULL match value is left alone")
  }

  @Test func updateModeFailsRecordsThatAreNotThereAndKeepsUnchangedOnes() async throws {
    let (scenario, crm) = try Self.scenario(.sqlite, sync: "mode: update\n")
    // Ada's record already holds what the model has: an update that changes nothing still found it.
    try crm.execute("insert into contacts values ('ada@example.com', 'Ada', 'pro'), ('grace@example.com', 'G', 'x')")
    try scenario.insert(Array(Self.people.prefix(3)))
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
    let failed = try scenario.openState().failures(runID: run.id, limit: 10)
    #expect(failed.map(\.key) == ["3"] && failed.first?.reason == "not found")
    #expect(try crm.query("select first_name, tier from contacts order by email") == [["Ada", "pro"], ["Grace", "free"]])
  }

  @Test func eventsInsertOneRowPerAddedRow() async throws {
    let (scenario, crm) = try Self.scenario(
      .sqlite, table: "create table signups (id int auto_increment primary key, email varchar(255), plan varchar(20))")
    scenario.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: crm_mysql
        type: event
        object: signups
        mappings:
          - { from: email, to: email }
          - { from: plan, to: plan }

        """
    ])
    try scenario.insert(Array(Self.people.prefix(2)))
    try await scenario.apply()
    try scenario.insert([(9, "mary@example.com", "Mary", "free")])
    try await scenario.apply()
    #expect(
      try crm.query("select email, plan from signups order by id") == [
        ["ada@example.com", "pro"], ["grace@example.com", "free"], ["mary@example.com", "free"],
      ])
  }

  @Test func listsAddAndRemoveMembersAndResyncClearEmptiesTheTable() async throws {
    let (scenario, crm) = try Self.scenario(.sqlite, table: "create table members (email varchar(255) primary key)")
    scenario.write([
      "syncs/users_to_crm.yaml": "model: users\ndestination: crm_mysql\ntype: list\nobject: members\nmatch: { email: email }\n"
    ])
    try scenario.insert(Array(Self.people.prefix(3)))
    try await scenario.apply()
    try scenario.sql("delete from users where user_id = 1")
    try await scenario.apply()
    #expect(try crm.query("select email from members order by email") == [["grace@example.com"], ["katherine@example.com"]])

    try crm.execute("insert into members values ('stranger@example.com')")
    let state = try scenario.openState(writing: true)
    try state.setPending(
      PendingRequest(action: .resyncClear, requestedBy: "test", requestedAt: "2026-12-05T00:00:00Z"),
      syncID: try scenario.syncRecord().id)
    let outcome = try await scenario.apply().sync()
    #expect(outcome.notes.contains { $0.contains("cleared crm_mysql/members") }, "\(outcome.notes)")
    #expect(try crm.query("select email from members order by email") == [["grace@example.com"], ["katherine@example.com"]])
  }

  /// A warehouse on MySQL too: the model's rows, typed as the server gives them, reach a MySQL table.
  @Test func aMySQLModelSyncsToMySQL() async throws {
    let (scenario, crm) = try Self.scenario(.sqlite)
    let shop = try MySQLDatabase.create("shop")
    try shop.execute(
      "create table customers (id bigint unsigned primary key, email varchar(255), name varchar(100), "
        + "plan varchar(20), credit decimal(30,10))",
      "insert into customers values (18446744073709551615, 'big@example.com', 'Big', 'pro', 12345678901234567890.0123456789), "
        + "(1, 'ada@example.com', 'Ada', 'free', 0.5)")
    try Self.useModel(on: shop, in: scenario, key: "id", query: "select id, email, name as first_name, plan, credit from customers")
    try crm.execute("alter table contacts add column credit decimal(30,10)")
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: crm_mysql")
        + "  - { from: credit, to: credit }\n"
    ])
    let first = try await scenario.apply()
    let error = try first.sync().error
    #expect(try first.run().succeeded == OperationCounts(add: 2), "\(error ?? "")")
    #expect(
      try crm.query("select email, first_name, tier, credit from contacts order by email") == [
        ["ada@example.com", "Ada", "free", "0.5000000000"],
        ["big@example.com", "Big", "pro", "12345678901234567890.0123456789"],
      ])
    #expect(Set(try scenario.snapshot().map(\.key)) == ["1", "18446744073709551615"])

    try shop.execute("update customers set plan = 'team' where id = 1")
    let second = try await scenario.apply()
    #expect(try second.run().succeeded == OperationCounts(change: 1))
    #expect(try crm.query("select tier from contacts where email = 'ada@example.com'") == [["team"]])
  }

  @Test func aModelThatTriesToWriteFailsAndWritesNothing() async throws {
    let scenario = try Scenario(.sqlite)
    let shop = try MySQLDatabase.create("shop")
    try shop.execute(
      "create table users (user_id int primary key, email varchar(255), first_name varchar(100), plan varchar(20))",
      "insert into users values (1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free')",
      "create function sneaky() returns int modifies sql data begin delete from users where user_id > 1; return 1; end")
    try Self.useModel(
      on: shop, in: scenario, key: "user_id", query: "select user_id, email, first_name, plan from users where sneaky() = 1")
    let plan = try scenario.plan(expectSuccess: false)
    let messages = plan.diagnostics.all.map(\.message)
    #expect(messages.contains { $0.contains("the model tried to write") && $0.contains("READ ONLY") }, "\(messages)")
    #expect(try shop.query("select count(*) from users") == [["2"]])
  }
}
