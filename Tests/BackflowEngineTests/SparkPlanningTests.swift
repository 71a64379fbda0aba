import BackflowADBC
import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Warehouse planning (`planning:`) on Spark through `adbc_driver_spark`, on the Spark Connect
/// server `make test` starts: apply stages the model, the copy of each sync's snapshot is computed
/// in Spark after the run, and each plan equals the plan of the diff in Backflow. Each test runs
/// on a thread of its own: its Spark queries block for seconds.
@Suite("Spark warehouse planning", .enabled(if: TestEnvironment.sparkURI != nil))
struct SparkPlanningTests {
  let scenario: Scenario
  let users = "users_\(UUID().uuidString.prefix(8).lowercased())"
  let schema = "planner_\(UUID().uuidString.prefix(8).lowercased())"

  init() throws {
    scenario = try Scenario(.sqlite, label: "spark_planning")
    try scenario.useSparkSource(table: users, planning: schema)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n"])
    // The CRM refuses one tier, so a row fails at the destination.
    try scenario.crm(
      "drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
  }

  /// Rewrites the model's table (Parquet takes no UPDATE or DELETE).
  func model(_ rows: String) throws {
    try scenario.spark("INSERT OVERWRITE \(users) VALUES \(rows)")
  }

  /// Expects the copy in Spark to hold the state store's keys at its version; returns the keys
  /// and those whose fingerprint is unknown (`''`).
  func expectCopyIsTheSnapshot(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws
    -> (keys: [String], unknown: [String])
  {
    let state = try scenario.openState()
    let id = try #require(try state.syncs().first?.id, sourceLocation: sourceLocation)
    let snapshot = try state.snapshot(syncID: id)
    var keys: [String] = []
    while let entry = try snapshot.next() { keys.append(entry.key) }
    let view = "\(schema).snapshot_s\(id)"
    let copy = try scenario.sparkRows("SELECT row_key, fingerprint FROM \(view) ORDER BY row_key")
    #expect(copy.map { $0[0] ?? "" } == keys, sourceLocation: sourceLocation)
    let stamp = Dictionary(
      try scenario.sparkRows("SHOW TBLPROPERTIES \(view)").map { ($0[0] ?? "", $0[1] ?? "") }, uniquingKeysWith: { $1 })
    let version = try state.snapshotVersion(syncID: id)
    #expect(
      stamp["backflow.lineage"] == state.lineage && stamp["backflow.version"] == String(version), "\(stamp)",
      sourceLocation: sourceLocation)
    return (copy.map { $0[0] ?? "" }, copy.filter { $0[1] == "" }.map { $0[0] ?? "" })
  }

  /// The model's key, as Spark returns it through the planner's diff: what left the warehouse.
  func returnedByTheDiff() throws -> [String] {
    let project = try scenario.loadProject()
    let sync = try #require(project.syncs.first)
    let model = try #require(project.model(of: sync))
    let id = try #require(try scenario.openState().syncs().first?.id)
    let driver = try ADBCDriver.load(path: ADBCTestDrivers.library("adbc_driver_spark"))
    let database = try ADBCDatabase(driver: driver, options: [("uri", try #require(TestEnvironment.sparkURI))], redact: { $0 })
    let reader = try ADBCModelReader(database: database, dialect: .spark, planningSchema: schema)
    let stream = try reader.diff(
      reader.sql(of: model.relation), key: "user_id", columns: ["email", "first_name", "plan"],
      signature: try SyncConfiguration(sync: sync, in: project).fingerprint.signature, syncID: id)
    var returned: [String] = []
    while let row = try stream.next() { returned.append(row.row.map { $0.key ?? "NULL" } ?? "removed \(row.entryKey ?? "")") }
    return returned
  }

  @Test func initialIncrementalDeleteAndRetryRunsPlanAsTheDiffInBackflow() async throws {
    try await withAThreadOfItsOwn {
      try model(
        "(1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free'), (3, 'kat@example.com', 'Kat', 'pro'),"
          + " (4, 'ann@example.com', 'Ann', 'team'), (5, 'eve@example.com', 'Eve', 'banned')")
      let initial = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: false)
      #expect(initial.data.add == 5 && initial.warnings.isEmpty)
      let applied = try await scenario.apply()
      let run = try applied.run()
      #expect(run.succeeded == OperationCounts(add: 4) && run.failed == OperationCounts(add: 1))
      let notes = try applied.sync().notes
      #expect(notes.allSatisfy { !$0.contains("warehouse planning") }, "\(notes)")
      // The copy holds the four rows that arrived, not the one that failed.
      #expect(try expectCopyIsTheSnapshot() == (["1", "2", "3", "4"], []))
      // Spark's fingerprints of the staged rows are those of the model's: nothing but the failed row leaves Spark.
      #expect(try returnedByTheDiff() == ["5"])

      let retry = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true)
      #expect((retry.data.add, retry.data.change, retry.data.remove, retry.data.unchanged) == (1, 0, 0, 4))

      // A change, a new user, a departed one, the failed row fixed, and a change the CRM refuses
      // (user 2: the state store keeps its entry, so the copy keeps the key, fingerprint unknown).
      try model(
        "(1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'banned'), (4, 'ann@example.com', 'Ann', 'free'),"
          + " (5, 'eve@example.com', 'Eve', 'pro'), (6, 'joan@example.com', 'Joan', 'team')")
      let incremental = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true)
      #expect((incremental.data.add, incremental.data.change, incremental.data.remove) == (2, 2, 1))
      let second = try await scenario.apply().run()
      #expect(second.succeeded == OperationCounts(add: 2, change: 1, remove: 1) && second.failed == OperationCounts(change: 1))
      #expect(try expectCopyIsTheSnapshot() == (["1", "2", "4", "5", "6"], ["2"]))
      // Its retry is planned from Spark, whose copy does not claim the refused row.
      let refused = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true)
      #expect((refused.data.change, refused.data.unchanged) == (1, 4))

      // User 2 comes back as it was: Spark returns it (its fingerprint is unknown), Backflow finds
      // it unchanged, and the apply after learns its fingerprint.
      try model(
        "(1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free'), (4, 'ann@example.com', 'Ann', 'free'),"
          + " (5, 'eve@example.com', 'Eve', 'pro'), (6, 'joan@example.com', 'Joan', 'team')")
      #expect(try returnedByTheDiff() == ["2"])
      let healed = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true)
      #expect(!healed.data.hasChanges && healed.data.unchanged == 5)
      _ = try await scenario.apply()
      #expect(try expectCopyIsTheSnapshot() == (["1", "2", "4", "5", "6"], []))
      #expect(try returnedByTheDiff() == [])
    }
  }

  @Test func repeatedKeysAreAlwaysComparedInBackflow() async throws {
    try await withAThreadOfItsOwn {
      try model(
        "(1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free'), (2, 'grace@example.com', 'Grace', 'team'),"
          + " (NULL, 'nobody@example.com', 'Nobody', 'free')")
      _ = try await scenario.apply()
      #expect(try expectCopyIsTheSnapshot() == (["1", "2"], ["2"]))
      let repeated = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true)
      #expect((repeated.data.duplicateKeys, repeated.data.nullKeys, repeated.data.unchanged) == (1, 1, 2))

      // The key stops repeating with the row that was not sent: a change, whichever was sent.
      let sent = try #require(try scenario.crmRows("select tier from contacts where email = 'grace@example.com'").first?[0])
      try model("(1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', '\(sent == "free" ? "team" : "free")')")
      let single = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true)
      #expect((single.data.change, single.data.unchanged) == (1, 1))
      _ = try await scenario.apply()
      #expect(try expectCopyIsTheSnapshot() == (["1", "2"], []))
    }
  }

  @Test func aPlanFileRunLeavesTheCopyForTheNextApply() async throws {
    try await withAThreadOfItsOwn {
      try model("(1, 'ada@example.com', 'Ada', 'pro'), (2, 'grace@example.com', 'Grace', 'free')")
      _ = try await scenario.apply()
      _ = try expectCopyIsTheSnapshot()

      // A reviewed plan file stages nothing: the run says the copy keeps its version.
      try model("(1, 'ada@example.com', 'Ada', 'team'), (2, 'grace@example.com', 'Grace', 'free')")
      _ = try scenario.plan(out: scenario.planFile)
      let outcome = try await scenario.applyPlanFile().sync()
      #expect(outcome.notes.contains { $0.contains("did not plan users_to_crm itself") }, "\(outcome.notes)")

      // The next plan sees the copy behind the state store and diffs in Backflow; with no row to
      // send, the next apply still runs the sync and makes the copy anew.
      let stale = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: false)
      #expect(stale.data.hasChanges && stale.data.unchanged == 2)
      #expect(stale.warnings.contains { $0.contains("is at version") && $0.contains("as the state store records") }, "\(stale.warnings)")
      let rewritten = try await scenario.apply().run()
      #expect(rewritten.planned == OperationCounts() && rewritten.status == .succeeded)
      #expect(try expectCopyIsTheSnapshot() == (["1", "2"], []))
      #expect(try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true).warnings.isEmpty)
      try model("(1, 'ada@example.com', 'Ada', 'team'), (2, 'grace@example.com', 'Grace', 'team')")
      #expect(try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: true).data.change == 1)

      // The version table under the view lost: noticed, planned in Backflow.
      let tables = try scenario.sparkRows("SHOW TABLES IN \(schema) LIKE 'snapshot_s*_r*'").compactMap { $0[1] }
      #expect(tables.count == 1, "older versions and stages are dropped: \(tables)")
      try scenario.spark("DROP TABLE \(schema).\(tables[0])")
      let missing = try ADBCPlanningTests.expectSamePlans(scenario, inWarehouse: false)
      #expect(missing.warnings.contains { $0.contains("the snapshot in schema \(schema) is missing") }, "\(missing.warnings)")
    }
  }
}
