import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Models read through the real ADBC drivers for PostgreSQL and SQLite (`type: adbc`, no
/// `planning:`): the diff runs in Backflow as for any source.
@Suite("ADBC source")
struct ADBCApplyTests {
  static let people = DriftTests.people

  static func scenario(_ backend: Backend) throws -> Scenario {
    let scenario = try Scenario(backend, label: "adbc")
    try scenario.useADBCSource()
    return scenario
  }

  static func contacts(_ scenario: Scenario) throws -> [[String?]] {
    try scenario.crmRows("select email, first_name, tier from contacts order by email")
  }

  @Test(arguments: Backend.allCases)
  func initialIncrementalAndDeleteRuns(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Self.scenario(backend)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n"])
    try scenario.insert(Self.people)
    let first = try await scenario.apply()
    let outcome = try first.sync()
    #expect(try outcome.succeeded && first.run().succeeded == OperationCounts(add: 4), "\(outcome.error ?? "")")
    #expect(
      try Self.contacts(scenario) == [
        ["ada@example.com", "Ada", "pro"], ["annie@example.com", "Annie", "team"],
        ["grace@example.com", "Grace", "free"], ["katherine@example.com", "Katherine", "pro"],
      ])

    // A changed plan, a new user and a departed one, in one run.
    try scenario.sql(
      "update users set plan = 'free' where user_id = 4; insert into users values (6, 'joan@example.com', 'Joan', 'team');"
        + " delete from users where user_id = 3;")
    #expect(try await scenario.apply().run().succeeded == OperationCounts(add: 1, change: 1, remove: 1))
    #expect(
      try scenario.crmRows("select email, tier from contacts order by email") == [
        ["ada@example.com", "pro"], ["annie@example.com", "free"], ["grace@example.com", "free"],
        ["joan@example.com", "team"],
      ])
    // Nothing changed: nothing is planned.
    #expect(try !scenario.plan().hasChanges)
  }

  @Test(arguments: Backend.allCases)
  func aRowTheDestinationRejectsIsRetriedByTheNextRun(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Self.scenario(backend)
    try scenario.crm(
      "drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
    try scenario.insert(Self.people + [(5, "eve@example.com", "Eve", "banned")])
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(add: 4) && run.failed == OperationCounts(add: 1))
    let retried = try #require(try scenario.plan().sync().data)
    #expect(retried.add == 1 && retried.unchanged == 4)

    try scenario.sql("update users set plan = 'pro' where user_id = 5")
    let retry = try await scenario.apply().run()
    #expect(retry.status == .succeeded && retry.succeeded == OperationCounts(add: 1))
    #expect(try Self.contacts(scenario).count == 5 && !scenario.plan().hasChanges)
  }

  @Test func aModelErrorIsTheDriversMessageAtTheModel() async throws {
    let scenario = try Self.scenario(.sqlite)
    scenario.write(["syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: select * from no_such_table\n"])
    let plan = try scenario.plan(expectSuccess: false)
    let error = try #require(plan.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.location.file.hasSuffix("users.yaml"), "\(error)")
    #expect(error.message.contains("no such table: no_such_table"), "\(error)")
  }
}

extension ADBCApplyTests {
  @Test func syncLogsOnADialectWithoutThemAreRefusedSayingWhich() async throws {
    let scenario = try Scenario(.sqlite, label: "adbc_logs_dialect")
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    let driver = try ADBCTestDrivers.library("adbc_driver_sqlite")
    scenario.write([
      "backflow.yaml": project.replacingOccurrences(
        of: "sources:\n", with: "sources:\n  lake: { type: adbc, driver: \(driver), dialect: duckdb, options: { uri: \(scenario.directory.appendingPathComponent("logs.db").path) } }\n")
        + "sync_logs: { source: lake, schema: audit }\n"
    ])
    try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
    let outcome = try await scenario.apply().sync()
    #expect(outcome.succeeded)
    let error = try #require(outcome.logError)
    #expect(error.contains("written for the postgres, sqlite and spark dialects only, not duckdb"), "\(error)")
  }

  @Test func aConnectionErrorNeverShowsThePassword() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Self.scenario(.postgres)
    scenario.environment["WAREHOUSE_URI"] = "postgresql://backflow:hunter2-secret@127.0.0.1:1/nowhere"
    let plan = try scenario.plan(expectSuccess: false)
    let errors = plan.diagnostics.sorted.filter { $0.severity == .error }
    #expect(!errors.isEmpty)
    for error in errors {
      #expect(!error.message.contains("hunter2-secret"), "\(error)")
      #expect(error.message.contains("could not connect") || error.message.contains("could not open"), "\(error)")
    }
  }
}

/// Models on Spark through `adbc_driver_spark`, the diff in Backflow; on a thread of its own, as
/// its Spark queries block for seconds.
@Suite("ADBC Spark source", .enabled(if: TestEnvironment.sparkURI != nil))
struct ADBCSparkApplyTests {
  @Test func initialIncrementalAndDeleteRuns() async throws {
    try await withAThreadOfItsOwn {
      let scenario = try Scenario(.sqlite, label: "adbc_spark")
      let table = "users_\(UUID().uuidString.prefix(8).lowercased())"
      try scenario.useSparkSource(table: table)
      scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n"])
      try scenario.spark(
        "INSERT INTO \(table) VALUES (1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free'),"
          + " (3, 'katherine@example.com', 'Katherine', 'pro')")
      let first = try await scenario.apply()
      let outcome = try first.sync()
      #expect(try outcome.succeeded && first.run().succeeded == OperationCounts(add: 3), "\(outcome.error ?? "")")

      // Parquet tables take no UPDATE or DELETE: the table is rewritten with the new rows.
      try scenario.spark(
        "INSERT OVERWRITE \(table) VALUES (1, 'ada@example.com', 'Ada', 'team'), (2, 'grace@example.com', 'Grace', 'free'),"
          + " (4, 'annie@example.com', 'Annie', 'team')")
      #expect(try await scenario.apply().run().succeeded == OperationCounts(add: 1, change: 1, remove: 1))
      #expect(
        try scenario.crmRows("select email, tier from contacts order by email") == [
          ["ada@example.com", "team"], ["annie@example.com", "team"], ["grace@example.com", "free"],
        ])
      #expect(try !scenario.plan().hasChanges)
    }
  }
}

/// Snowflake and BigQuery drivers load from their pip packages and, without an account, fail
/// with the driver's own reason at the model, secrets masked.
@Suite("ADBC cloud drivers without an account")
struct ADBCCloudDriverTests {
  @Test(arguments: [
    // The login's retries would take minutes against a host that does not resolve.
    (
      "adbc_driver_snowflake", "snowflake", "uri", "backflow:hunter2-secret@nosuchaccount.invalid/db",
      ", adbc.snowflake.sql.client_option.login_timeout: 5s"
    ),
    ("adbc_driver_bigquery", "bigquery", "adbc.bigquery.sql.project_id", "hunter2-secret", ""),
  ])
  func aPlanSaysTheDriverCannotConnect(driver: String, dialect: String, option: String, value: String, extra: String)
    async throws
  {
    let scenario = try Scenario(.sqlite, label: "adbc_cloud")
    scenario.environment["CLOUD_SECRET"] = value
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    let path = try ADBCTestDrivers.library(driver)
    scenario.write([
      "backflow.yaml": project.replacingOccurrences(
        of: "sources:\n",
        with: "sources:\n  cloud: { type: adbc, driver: \(path), dialect: \(dialect), options: { \(option): \"${CLOUD_SECRET}\"\(extra) } }\n"),
      "syncs/models/users.yaml": "source: cloud\nprimary_key: user_id\nquery: select 1 as user_id\n",
    ])
    let started = Date()
    let plan = try scenario.plan(expectSuccess: false)
    let error = try #require(plan.diagnostics.sorted.first { $0.severity == .error })
    #expect(Date().timeIntervalSince(started) < 60)
    #expect(error.location.file == "backflow.yaml", "\(error)")
    #expect(!error.message.contains("hunter2-secret"), "\(error)")
    #expect(error.message.contains("source cloud: could not connect: [\(dialect == "bigquery" ? "BigQuery" : "Snowflake")]"), "\(error)")
  }
}
