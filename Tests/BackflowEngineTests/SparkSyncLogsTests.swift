import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Sync logs written into Spark through `adbc_driver_spark` (SQL text only, Parquet tables
/// without UPDATE or DELETE): the changelog appended, each sync's snapshot a new table version
/// behind the `sync_snapshot` view, read back from the real Spark Connect server. Each test runs
/// on a thread of its own: its Spark queries block for seconds.
@Suite("sync logs on Spark", .enabled(if: TestEnvironment.sparkURI != nil))
struct SparkSyncLogsTests {
  let scenario: Scenario
  let users = "users_\(UUID().uuidString.prefix(8).lowercased())"
  let schema = "audit_\(UUID().uuidString.prefix(8).lowercased())"

  init() throws {
    scenario = try Scenario(.sqlite, label: "spark_logs")
    try scenario.useSparkSource(table: users)
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    scenario.write([
      "backflow.yaml": project + "sync_logs: { source: lake, schema: \(schema) }\n",
      "syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n",
    ])
    // The CRM refuses one tier, so a row fails at the destination.
    try scenario.crm(
      "drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
  }

  /// Every row Spark must not read as SQL: a quote, a backslash, and `${…}`, which Spark
  /// substitutes in SQL text.
  static let awkward = #"O'Brien \ ${spark.app.name}"#
  static let awkwardLiteral = #"'O\'Brien \\ \u0024{spark.app.name}'"#

  func changelog(run: Int) throws -> [[String?]] {
    try scenario.sparkRows(
      """
      SELECT op_type, row_id, status, IF(failed_reason IS NULL, 'no', 'yes'), get_json_object(fields, '$.plan')
      FROM \(schema).sync_changelog WHERE sync_run_id = \(run) ORDER BY row_id, op_type
      """)
  }

  func snapshot() throws -> [[String?]] {
    try scenario.sparkRows("SELECT op_type, row_id, status FROM \(schema).sync_snapshot ORDER BY row_id")
  }

  @Test func initialIncrementalDeleteAndRetryRunsAreLogged() async throws {
    try await withAThreadOfItsOwn {
      try scenario.spark(
        "INSERT INTO \(users) VALUES (1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free'),"
          + " (3, 'kat@example.com', 'Kat', 'pro'), (4, 'bad@example.com', 'Bad', 'banned'),"
          + " (5, 'ob@example.com', \(Self.awkwardLiteral), 'team')")
      let first = try await scenario.apply()
      let run1 = try first.run()
      #expect(try first.sync().logError == nil)
      #expect(try changelog(run: run1.id) == [
        ["added", "1", "succeeded", "no", "pro"], ["added", "2", "succeeded", "no", "free"],
        ["added", "3", "succeeded", "no", "pro"], ["added", "4", "failed", "yes", "banned"],
        ["added", "5", "succeeded", "no", "team"],
      ])
      #expect(try scenario.sparkRows(
        "SELECT get_json_object(fields, '$.first_name') FROM \(schema).sync_changelog WHERE row_id = '5'") == [[Self.awkward]])

      // A write killed part-way left its staging tables; the next write drops them.
      for table in ["changelog", "snapshot"] {
        try scenario.spark(
          "CREATE TABLE \(schema).sync_\(table)_s\(run1.syncID)_r999999_staging (sync_id BIGINT) USING parquet")
      }

      // A change, a removal and the failed row again, in one run.
      try scenario.spark(
        "INSERT OVERWRITE \(users) VALUES (1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'team'),"
          + " (4, 'bad@example.com', 'Bad', 'banned'), (5, 'ob@example.com', \(Self.awkwardLiteral), 'team')")
      let run2 = try await scenario.apply().run()
      #expect(try changelog(run: run2.id) == [
        ["changed", "2", "succeeded", "no", "team"], ["removed", "3", "succeeded", "no", nil],
        ["added", "4", "failed", "yes", "banned"],
      ])
      #expect(try snapshot() == [
        ["unchanged", "1", "succeeded"], ["changed", "2", "succeeded"], ["added", "4", "failed"], ["unchanged", "5", "succeeded"],
      ])

      // The failed row, fixed, is retried and succeeds.
      try scenario.spark(
        "INSERT OVERWRITE \(users) VALUES (1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'team'),"
          + " (4, 'bad@example.com', 'Bad', 'pro'), (5, 'ob@example.com', \(Self.awkwardLiteral), 'team')")
      let run3 = try await scenario.apply().run()
      #expect(try changelog(run: run3.id) == [["added", "4", "succeeded", "no", "pro"]])
      #expect(try snapshot() == [
        ["unchanged", "1", "succeeded"], ["unchanged", "2", "succeeded"], ["added", "4", "succeeded"],
        ["unchanged", "5", "succeeded"],
      ])
      let runs = try scenario.sparkRows(
        """
        SELECT sync_run_id, status, num_planned_add, num_planned_change, num_planned_remove, num_failed_add, model_name,
          destination, finished_at >= started_at
        FROM \(schema).sync_runs ORDER BY sync_run_id
        """)
      #expect(runs == [
          ["\(run1.id)", "failed", "5", "0", "0", "1", "users", "local/contacts", "t"],
          ["\(run2.id)", "failed", "1", "1", "1", "1", "users", "local/contacts", "t"],
          ["\(run3.id)", "succeeded", "1", "0", "0", "0", "users", "local/contacts", "t"],
        ])
      // One snapshot version is left, and no staging table.
      let tables = try scenario.sparkRows("SHOW TABLES IN \(schema)").compactMap { $0[1] }.sorted()
      #expect(tables == ["sync_changelog", "sync_runs", "sync_snapshot", "sync_snapshot_s\(run3.syncID)_r\(run3.id)"])
    }
  }

  /// The rows `scenario`'s last apply planned as unchanged, listed in its plan file.
  static func listedUnchanged(_ scenario: Scenario) throws -> Int {
    let rows = try PlanFileRows(url: scenario.planFile, sync: "users_to_crm", operations: ["unchanged"])
    var count = 0
    while try rows.next() != nil { count += 1 }
    return count
  }

  /// With warehouse planning on the same Spark source, the rows the diff leaves in Spark are not
  /// planned, and `sync_snapshot` takes them from the staged model: the same rows and fields as
  /// this suite's project, which lists every row, logs from the same model. The model's `score`,
  /// a double no mapping uses, changes no row but shows in its fields.
  @Test func withPlanningTheUnchangedRowsAreLoggedFromSparkAsBackflowLogsThem() async throws {
    try await withAThreadOfItsOwn {
      let planned = try Scenario(.sqlite, label: "spark_logs_planned")
      let plannedSchema = schema + "_planned"
      try planned.useSparkSource(table: users + "_unused", planning: schema + "_planning")
      try scenario.spark("ALTER TABLE \(users) ADD COLUMNS (score DOUBLE)")
      let model = "source: lake\nprimary_key: user_id\nquery: select user_id, email, first_name, plan, score from \(users)\n"
      scenario.write(["syncs/models/users.yaml": model])
      planned.write(["syncs/models/users.yaml": model, "syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n"])
      let project = try String(contentsOf: planned.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
      planned.write(["backflow.yaml": project + "sync_logs: { source: lake, schema: \(plannedSchema) }\n"])
      try planned.crm(
        "drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")

      func snapshot(_ schema: String) throws -> [[String?]] {
        try self.scenario.sparkRows(
          "SELECT op_type, row_id, status, failed_reason IS NULL, fields FROM \(schema).sync_snapshot ORDER BY row_id, fields")
      }
      func row(_ id: Int, plan: String? = nil, name: String? = nil, score: String? = nil) -> String {
        "(\(id), 'u\(id)@example.com', '\(name ?? "User \(id)")', '\(plan ?? (id % 3 == 0 ? "pro" : "free"))', "
          + "\(score ?? "\(id) / 8e3"))"
      }
      // A failed row, a NULL key, a repeated key and names that need escaping in JSON.
      let awkward = [
        "(41, 'bad@example.com', 'Bad', 'banned', NULL)", "(NULL, 'nokey@example.com', 'No Key', 'free', 1e20)",
        "(42, 'twice@example.com', 'Twice', 'pro', 0.5)", "(42, 'twice@example.com', 'Twice', 'free', 0.5)",
        "(43, 'ob@example.com', \(Self.awkwardLiteral), 'team', -0.0)", "(44, 'q@example.com', 'say \"hi\"\\\\n', 'team', 1e-7)",
      ]
      try scenario.spark("INSERT INTO \(users) VALUES " + ((1...40).map { row($0) } + awkward).joined(separator: ", "))
      for project in [scenario, planned] { try await project.apply() }
      #expect(try snapshot(plannedSchema) == snapshot(schema))

      // Two rows change, one leaves, and one's score alone changes; the rest is unchanged.
      let rows = (1...40).compactMap { id -> String? in
        switch id {
        case 1: row(1, plan: "team")
        case 2: nil
        case 3: row(3, name: "Three")
        case 5: row(5, score: "12345678.9")
        default: row(id)
        }
      }
      try scenario.spark("INSERT OVERWRITE \(users) VALUES " + (rows + awkward).joined(separator: ", "))
      for project in [scenario, planned] {
        let outcome = try await project.apply().sync()
        #expect(outcome.logError == nil)
      }
      let logged = try snapshot(plannedSchema)
      #expect(logged == (try snapshot(schema)))
      // 37 of the 40 rows, the two awkward ones and the repeated key's planned row.
      #expect(logged.filter { $0[0] == "unchanged" }.count == 40)
      #expect(logged.first { $0[1] == "5" }?[4] == #"{"user_id":5,"email":"u5@example.com","first_name":"User 5","plan":"free","score":12345678.9}"#)
      // Only the suite's project listed them; the repeated key's planned row is compared in Backflow.
      #expect(try Self.listedUnchanged(scenario) == 40)
      #expect(try Self.listedUnchanged(planned) == 1)

      // Nothing changed: a run with no rows still writes the whole snapshot.
      for project in [scenario, planned] { try await project.apply() }
      #expect(try snapshot(plannedSchema) == snapshot(schema))
      // Now the two changed rows too: only the refused row 41 and the NULL key are not unchanged.
      #expect(try snapshot(plannedSchema).filter { $0[0] == "unchanged" }.count == 42)
      // The stage was read and dropped; the copy's version table and view stay.
      #expect(try scenario.sparkRows("SHOW TABLES IN \(schema)_planning LIKE 'stage_*'").isEmpty)
    }
  }

  @Test func theSnapshotViewKeepsEverySyncsLatestRows() async throws {
    try await withAThreadOfItsOwn {
      try scenario.crm("create table accounts (email text primary key, first_name text, tier text)")
      scenario.write(["syncs/users_to_accounts.yaml": Scenario.sync.replacing("object: contacts", with: "object: accounts")])
      try scenario.spark("INSERT INTO \(users) VALUES (1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free')")
      let first = try await scenario.apply()
      #expect(first.count == 2 && first.allSatisfy { $0.logError == nil })
      try scenario.spark("INSERT OVERWRITE \(users) VALUES (1, 'ada@example.com', 'Ada', 'team'), (2, 'grace@example.com', 'Grace', 'free')")
      try await scenario.apply(selection: ["users_to_accounts"])
      // The other sync's rows stay as its own latest run left them.
      #expect(try scenario.sparkRows(
        """
        SELECT r.sync_name, s.op_type, s.row_id FROM \(schema).sync_snapshot s
        JOIN (SELECT DISTINCT sync_id, sync_name FROM \(schema).sync_runs) r ON r.sync_id = s.sync_id
        ORDER BY r.sync_name, s.row_id
        """) == [
          ["users_to_accounts", "changed", "1"], ["users_to_accounts", "unchanged", "2"],
          ["users_to_crm", "added", "1"], ["users_to_crm", "added", "2"],
        ])
    }
  }

  @Test func anExistingSnapshotTableThatIsNotAViewIsRefusedNamingIt() async throws {
    try await withAThreadOfItsOwn {
      try scenario.spark(
        "CREATE DATABASE \(schema)",
        "CREATE TABLE \(schema).sync_snapshot (sync_id BIGINT) USING parquet",
        "INSERT INTO \(users) VALUES (1, 'ada@example.com', 'Ada', 'pro')")
      let outcome = try await scenario.apply().sync()
      #expect(outcome.run?.status == .succeeded)
      let error = try #require(outcome.logError)
      #expect(error.contains("the existing table \(schema).sync_snapshot is not a view"), "\(error)")
      #expect(try scenario.sparkRows("SHOW TABLES IN \(schema) LIKE 'sync_changelog*'").isEmpty)
    }
  }
}
