import BackflowADBC
import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowSources
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Warehouse planning (`planning:`) on an ADBC source of the postgres dialect, through the real
/// `adbc_driver_postgresql`: each plan equals the plan of the diff in Backflow, and a missing or
/// stale copy of the snapshot is noticed and planned around.
@Suite("ADBC warehouse planning")
struct ADBCPlanningTests {
  static let schema = "backflow_planner"

  static func scenario() throws -> Scenario {
    let scenario = try Scenario(.postgres, label: "adbc_planning")
    try scenario.useADBCSource(planning: schema)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n"])
    return scenario
  }

  @Test func initialIncrementalDeleteAndRetryRunsPlanAsTheDiffInBackflow() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Self.scenario()
    try scenario.crm(
      "drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
    try scenario.insert(ADBCApplyTests.people + [(5, "eve@example.com", "Eve", "banned")])
    // No snapshot yet: every row is added, diffed in Backflow, without a warning.
    let initial = try Self.expectSamePlans(scenario, inWarehouse: false)
    #expect(initial.data.add == 5 && initial.warnings.isEmpty)
    let applied = try await scenario.apply()
    let run = try applied.run()
    #expect(run.succeeded == OperationCounts(add: 4) && run.failed == OperationCounts(add: 1), "\(applied)")
    // The copy holds the four rows that arrived, not the one that failed.
    #expect(try Self.expectCopyIsTheSnapshot(scenario) == ["1", "2", "3", "4"])

    // The failed row is planned again from the warehouse.
    let retry = try Self.expectSamePlans(scenario, inWarehouse: true)
    #expect((retry.data.add, retry.data.change, retry.data.remove, retry.data.unchanged) == (1, 0, 0, 4))

    // A change, a new user, a departed one and the failed row fixed, in one run.
    try scenario.sql(
      "update users set plan = 'free' where user_id = 4; insert into users values (6, 'joan@example.com', 'Joan', 'team');"
        + " delete from users where user_id = 3; update users set plan = 'pro' where user_id = 5;")
    let incremental = try Self.expectSamePlans(scenario, inWarehouse: true)
    #expect((incremental.data.add, incremental.data.change, incremental.data.remove) == (2, 1, 1))
    #expect(try await scenario.apply().run().succeeded == OperationCounts(add: 2, change: 1, remove: 1))
    #expect(try Self.expectCopyIsTheSnapshot(scenario) == ["1", "2", "4", "5", "6"])

    // Nothing changed: nothing is planned.
    let quiet = try Self.expectSamePlans(scenario, inWarehouse: true)
    #expect(!quiet.data.hasChanges && quiet.data.unchanged == 5)
  }

  @Test func onlyTheRowsThatDifferLeaveTheWarehouse() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Self.scenario()
    try scenario.sql(
      "insert into users select n, 'user' || n || '@example.com', 'User ' || n, 'free' from generate_series(1, 300) as n")
    #expect(try await scenario.apply().run().succeeded == OperationCounts(add: 300))
    try scenario.sql("update users set plan = 'pro' where user_id in (7, 250); delete from users where user_id = 99")

    // The reader's diff, as the planner asks for it: two changed rows and one removed entry.
    let project = try scenario.loadProject()
    let sync = try #require(project.syncs.first)
    let model = try #require(project.model(of: sync))
    let id = try #require(try scenario.plan().sync().id)
    let driver = try ADBCDriver.load(path: ADBCTestDrivers.library("adbc_driver_postgresql"))
    let database = try ADBCDatabase(
      driver: driver, options: [("uri", try #require(scenario.postgres?.url))], redact: { $0 })
    let reader = try ADBCModelReader(database: database, dialect: .postgres, planningSchema: Self.schema)
    let stream = try reader.diff(
      reader.sql(of: model.relation), key: "user_id", columns: ["email", "first_name", "plan"],
      signature: try SyncConfiguration(sync: sync, in: project).fingerprint.signature, syncID: id)
    var returned: [String] = []
    while let row = try stream.next() { returned.append(row.row?.key ?? "removed \(row.entryKey ?? "")") }
    #expect(returned == ["250", "7", "removed 99"] && stream.snapshotRows == 300, "\(returned.prefix(5)) \(returned.count)")

    let plan = try Self.expectSamePlans(scenario, inWarehouse: true)
    #expect((plan.data.change, plan.data.remove, plan.data.unchanged) == (2, 1, 297))
  }

  @Test func aDroppedOrStaleCopyIsNoticedAndPlannedInBackflow() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Self.scenario()
    try scenario.insert(ADBCApplyTests.people)
    _ = try await scenario.apply()

    // A dropped snapshot table: the plan says so and diffs in Backflow; apply rewrites the copy.
    try scenario.sql("drop table \(Self.schema).snapshots; update users set plan = 'team' where user_id = 1")
    let dropped = try Self.expectSamePlans(scenario, inWarehouse: false)
    #expect(dropped.data.change == 1)
    #expect(dropped.warnings.contains { $0.contains("the snapshot in schema \(Self.schema) is missing") }, "\(dropped.warnings)")
    _ = try await scenario.apply()
    #expect(try Self.expectCopyIsTheSnapshot(scenario) == ["1", "2", "3", "4"])
    #expect(try Self.expectSamePlans(scenario, inWarehouse: true).warnings.isEmpty)

    // A copy restored from before the last run (a server that lost its catalog): its version is
    // not the state store's, and planning against it would resend user 2 and miss user 5.
    try scenario.sql(
      "create table old_snapshots as select * from \(Self.schema).snapshots;"
        + " create table old_versions as select * from \(Self.schema).snapshot_versions;"
        + " update users set plan = 'pro' where user_id = 2;")
    _ = try await scenario.apply()
    try scenario.sql(
      "truncate \(Self.schema).snapshots, \(Self.schema).snapshot_versions;"
        + " insert into \(Self.schema).snapshots select * from old_snapshots;"
        + " insert into \(Self.schema).snapshot_versions select * from old_versions;"
        + " insert into users values (5, 'eve@example.com', 'Eve', 'free');")
    let stale = try Self.expectSamePlans(scenario, inWarehouse: false)
    #expect((stale.data.add, stale.data.change, stale.data.unchanged) == (1, 0, 4))
    #expect(stale.warnings.contains { $0.contains("is at version") && $0.contains("as the state store records") }, "\(stale.warnings)")
    _ = try await scenario.apply()
    #expect(try Self.expectCopyIsTheSnapshot(scenario) == ["1", "2", "3", "4", "5"])

    // Rows deleted from the copy behind Backflow's back, its version intact: the count tells.
    try scenario.sql("delete from \(Self.schema).snapshots where row_key = '3'")
    let truncated = try Self.expectSamePlans(scenario, inWarehouse: false)
    #expect(truncated.data.hasChanges && truncated.data.unchanged == 5 && truncated.data.count(.change) == 0)
    #expect(truncated.warnings.contains { $0.contains("holds 4 rows, the state store's 5") }, "\(truncated.warnings)")
    // With no row to send, apply still runs the sync, and its run rewrites the copy.
    let rewritten = try await scenario.apply().run()
    #expect(rewritten.planned == OperationCounts() && rewritten.status == .succeeded)
    #expect(try Self.expectCopyIsTheSnapshot(scenario) == ["1", "2", "3", "4", "5"])
    #expect(!(try Self.expectSamePlans(scenario, inWarehouse: true).data.hasChanges))
  }

  @Test func aDialectWithoutPlanningIsRefusedAtItsKey() throws {
    let scenario = try Scenario(.sqlite, label: "adbc_planning_dialect")
    try scenario.useADBCSource(planning: Self.schema)
    let loaded = ProjectLoader(directory: scenario.directory, displayPath: ".", environment: scenario.environment).load()
    let error = try #require(loaded.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.message.contains("warehouse planning is built for the postgres and spark dialects only, not sqlite"), "\(error)")
    let project = try String(contentsOf: scenario.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    let line = try #require(project.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("planning:") })
    #expect(error.location.file.hasSuffix("backflow.yaml") && error.location.line == line + 1, "\(error)")
  }
}

extension ADBCPlanningTests {
  /// Plans with warehouse planning and with the diff in Backflow; expects the same data and rows
  /// and, when the plan could not use the warehouse, one warning more. Returns the first plan's
  /// data and its warnings.
  static func expectSamePlans(
    _ scenario: Scenario, inWarehouse: Bool, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) throws -> (data: DataPlan, warnings: [String]) {
    let project = try scenario.loadProject()
    var results: [(plan: SyncPlan, rows: [PlannedRow])] = []
    for diffsInWarehouse in [true, false] {
      let sink = RecordingSink()
      let planner = Planner(project: project, directory: scenario.directory, state: try scenario.openState())
      planner.diffsInWarehouse = diffsInWarehouse
      let plan = try planner.plan(commit: nil, sampleSize: 100, sink: sink)
      #expect(!plan.diagnostics.hasErrors, "\(plan.diagnostics.sorted)", sourceLocation: sourceLocation)
      results.append((try plan.sync(), sink.rows))
    }
    let (planned, backflow) = (results[0], results[1])
    let found = try #require(planned.plan.data, sourceLocation: sourceLocation)
    var data = found
    let fallback = !inWarehouse && planned.plan.id != nil
    #expect(data.diffedInWarehouse == inWarehouse, sourceLocation: sourceLocation)
    // A plan that could not use the copy has apply write it, even with no rows to send.
    #expect(data.rewritesPlanningCopy == fallback, sourceLocation: sourceLocation)
    data.diffedInWarehouse = false
    data.rewritesPlanningCopy = false
    #expect(data == backflow.plan.data, sourceLocation: sourceLocation)
    #expect(planned.rows == backflow.rows, sourceLocation: sourceLocation)
    #expect(
      planned.plan.warnings.filter { !$0.hasPrefix("warehouse planning:") } == backflow.plan.warnings
        && planned.plan.warnings.count == backflow.plan.warnings.count + (fallback ? 1 : 0),
      "\(planned.plan.warnings)", sourceLocation: sourceLocation)
    return (found, planned.plan.warnings)
  }

  /// Expects the warehouse's copy to hold the state store's snapshot at its version; returns its keys.
  static func expectCopyIsTheSnapshot(_ scenario: Scenario, sourceLocation: Testing.SourceLocation = #_sourceLocation)
    throws -> [String]
  {
    let state = try scenario.openState()
    let id = try #require(try state.syncs().first?.id, sourceLocation: sourceLocation)
    let snapshot = try state.snapshot(syncID: id)
    var entries: [[String?]] = []
    while let entry = try snapshot.next() { entries.append([entry.key, entry.fingerprint, entry.matchValue]) }
    let connection = try #require(scenario.postgres, sourceLocation: sourceLocation).connect()
    let copy = try connection.query(
      "select row_key, fingerprint, match_value from \(schema).snapshots where sync_id = \(id) order by row_key collate \"C\"")
    #expect(copy == entries, sourceLocation: sourceLocation)
    let version = try connection.query("select lineage, version from \(schema).snapshot_versions where sync_id = \(id)")
    #expect(version == [[state.lineage, String(try state.snapshotVersion(syncID: id))]], sourceLocation: sourceLocation)
    return copy.map { $0[0] ?? "" }
  }
}
