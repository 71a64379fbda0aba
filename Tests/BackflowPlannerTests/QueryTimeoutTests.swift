import BackflowConfig
import BackflowPlanner
import BackflowTestSupport
import Foundation
import Testing

/// `query_timeout:` on a source: the database cancels a slower model query, and the plan fails
/// at the model, naming the timeout. The plans block for seconds, so each runs on a thread of its
/// own, off the pool every test's tasks share.
@Suite("query timeout")
struct QueryTimeoutTests {
  /// Each query runs for many seconds (a sleep per row on PostgreSQL, a long count on SQLite).
  static let slowQuery: [Backend: String] = [
    .postgres: "select user_id, email, first_name, plan from users where pg_sleep(30) is not null",
    .sqlite: """
      with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000000)
        select user_id, email, first_name, plan from users where (select count(*) from n) > 0
      """,
  ]

  /// Adds `query_timeout: 1s` to the `warehouse` source and points the model at `query`.
  static func limit(_ scenario: Scenario, source: String = "warehouse", query: String) throws {
    let file = scenario.directory.appendingPathComponent("backflow.yaml")
    let project = try String(contentsOf: file, encoding: .utf8)
    let line = try #require(project.split(separator: "\n").first { $0.hasPrefix("  \(source): {") })
    scenario.write([
      "backflow.yaml": project.replacingOccurrences(of: line, with: line.dropLast() + ", query_timeout: 1s }"),
      "syncs/models/users.yaml": "source: \(source)\nprimary_key: user_id\nquery: \(query.replacingOccurrences(of: "\n", with: " "))\n",
    ])
  }

  static func expectCancelled(_ plan: Plan) {
    let errors = plan.diagnostics.all.filter { $0.severity == .error }
    let error = errors.first { $0.message.contains("query_timeout") }
    #expect(
      error?.message.contains("model users: the query ran longer than the source's query_timeout: 1s and was cancelled")
        == true, "\(errors)")
    #expect(error?.location.file == "syncs/models/users.yaml" && error?.location.line == 3, "\(errors)")
    #expect(plan.syncs.first?.data == nil)
  }

  @Test(arguments: [Backend.sqlite, .postgres])
  func aSlowModelQueryIsCancelledAtTheTimeout(backend: Backend) async throws {
    try await withAThreadOfItsOwn {
      guard backend.available else { return }
      let scenario = try Scenario(backend)
      try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
      try Self.limit(scenario, query: try #require(Self.slowQuery[backend]))
      Self.expectCancelled(try scenario.plan(expectSuccess: false))
    }
  }

  /// Through the real PostgreSQL ADBC driver, the statement is cancelled from a timer
  /// (`AdbcStatementCancel`).
  @Test(.enabled(if: TestEnvironment.postgresURL != nil))
  func aSlowADBCModelQueryIsCancelledAtTheTimeout() async throws {
    try await withAThreadOfItsOwn {
      let scenario = try Scenario(.postgres)
      try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
      try scenario.useADBCSource()
      try Self.limit(scenario, query: try #require(Self.slowQuery[.postgres]))
      let started = ContinuousClock.now
      Self.expectCancelled(try scenario.plan(expectSuccess: false))
      #expect(ContinuousClock.now - started < .seconds(20), "the 30 s query ran on")
    }
  }

  /// adbc_driver_spark cancels the Spark job.
  @Test(.enabled(if: TestEnvironment.sparkURI != nil))
  func aSlowSparkModelQueryIsCancelledAtTheTimeout() async throws {
    try await withAThreadOfItsOwn {
      let scenario = try Scenario(.sqlite, label: "spark_timeout")
      let table = "users_\(UUID().uuidString.prefix(8).lowercased())"
      try scenario.useSparkSource(table: table)
      try scenario.spark("INSERT INTO \(table) VALUES (1, 'ada@example.com', 'Ada', 'pro')")
      try Self.limit(
        scenario, source: "lake",
        query: "select user_id, email, first_name, plan from \(table) "
          + "where (select max(hash(id)) from range(100000000000)) is not null")
      let started = ContinuousClock.now
      Self.expectCancelled(try scenario.plan(expectSuccess: false))
      #expect(ContinuousClock.now - started < .seconds(90), "the query ran on (it takes minutes)")
    }
  }

  /// adbc_driver_sqlite cannot cancel a statement: it runs to its end, its rows are not used, and
  /// the plan says so.
  @Test func aSlowModelQueryOnADBCSQLiteFailsAtTheTimeoutWhenItEnds() async throws {
    try await withAThreadOfItsOwn {
      let scenario = try Scenario(.sqlite)
      try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
      try scenario.useADBCSource()
      try Self.limit(
        scenario,
        query: """
          with recursive n(i) as (select 1 union all select i + 1 from n where i < 20000000)
            select user_id, email, first_name, plan from users where (select count(*) from n) > 0
          """)
      let plan = try scenario.plan(expectSuccess: false)
      let errors = plan.diagnostics.all.filter { $0.severity == .error }
      #expect(
        errors.contains {
          $0.message.contains("model users: the query ran longer than the source's query_timeout: 1s; the driver could not cancel it (")
            && $0.message.contains("so it ran to its end and its rows were not used")
        }, "\(errors)")
      #expect(plan.syncs.first?.data == nil)
    }
  }

  @Test(.enabled(if: TestEnvironment.mysqlURL != nil))
  func aSlowMySQLModelQueryIsCancelledAtTheTimeout() async throws {
    try await withAThreadOfItsOwn {
      let scenario = try Scenario(.sqlite)
      let shop = try MySQLDatabase.create("shop")
      try shop.execute(
        "create table users (user_id int primary key, email varchar(255), first_name varchar(100), plan varchar(20))",
        "insert into users values (1, 'ada@example.com', 'Ada', 'pro')")
      scenario.environment["SHOP_URL"] = shop.url
      let file = scenario.directory.appendingPathComponent("backflow.yaml")
      let project = try String(contentsOf: file, encoding: .utf8)
      scenario.write([
        "backflow.yaml": project.replacingOccurrences(of: "sources:\n", with: "sources:\n  shop: { type: mysql, url: \"${SHOP_URL}\" }\n")
      ])
      try Self.limit(
        scenario, source: "shop",
        query: "select user_id, email, first_name, plan from users where sleep(30) = 0")
      Self.expectCancelled(try scenario.plan(expectSuccess: false))
    }
  }

  @Test func aTimeoutThatIsNotADurationIsReportedWhereItIsWritten() {
    let loaded = ProjectFixture.load([
      "backflow.yaml": "version: 1\nsources:\n  warehouse: { type: sqlite, path: w.db, query_timeout: soon }\n"
    ])
    let error = loaded.diagnostics.sorted.first { $0.severity == .error }
    #expect(error?.location.file == "backflow.yaml" && error?.location.line == 3 && error?.location.column == 57, "\(String(describing: error))")
    #expect(error?.message.contains("must be a duration like 30s") == true, "\(String(describing: error))")
  }

  @Test func aDestinationTakesNoQueryTimeout() {
    let loaded = ProjectFixture.load([
      "backflow.yaml": "version: 1\ndestinations:\n  crm: { type: sqlite, path: c.db, query_timeout: 1s }\n"
    ])
    #expect(loaded.diagnostics.all.contains { $0.severity == .error && $0.message.contains("query_timeout") }, "\(loaded.diagnostics.all)")
  }
}
