import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// What apply writes into the warehouse's sync logs: one changelog row per planned operation with
/// its real outcome, and a snapshot of every model row.
@Suite("sync logs from apply")
struct SyncLogsApplyTests {
  /// (op_type, row_id, status, failed_reason is set, user_id and plan from fields) by row_id.
  func changelog(_ scenario: Scenario, run: Int) throws -> [[String?]] {
    let fields = scenario.backend == .postgres
      ? "fields->>'user_id', fields->>'plan'" : "json_extract(fields, '$.user_id'), json_extract(fields, '$.plan')"
    return try scenario.logRows(
      """
      select op_type, row_id, status, case when failed_reason is null then 'no' else 'yes' end, \(fields)
      from {table} where sync_run_id = \(run) order by row_id is null, row_id, op_type
      """, table: "sync_changelog")
  }

  func snapshot(_ scenario: Scenario) throws -> [[String?]] {
    try scenario.logRows("select op_type, row_id, status from {table} order by row_id is null, row_id", table: "sync_snapshot")
  }

  /// `adbc`: the warehouse, and so the sync logs, through its real ADBC driver.
  func scenario(_ backend: Backend, adbc: Bool = false, sync: String = Scenario.sync) throws -> Scenario {
    let scenario = try Scenario(backend)
    if adbc { try scenario.useADBCSource() }
    try scenario.enableSyncLogs()
    scenario.write(["syncs/users_to_crm.yaml": sync])
    // The CRM refuses one tier, so a row fails at the destination.
    try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
    return scenario
  }

  @Test(arguments: Backend.allCases, [false, true])
  func everyPlannedRowIsLoggedWithItsOutcomeAndEveryModelRowIsInTheSnapshot(backend: Backend, adbc: Bool) async throws {
    guard backend.available else { return }
    let scenario = try scenario(backend, adbc: adbc)
    try scenario.insert([
      (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
      (3, "kat@example.com", "Kat", "pro"), (4, "bad@example.com", "Bad", "banned"), (nil, "nokey@example.com", "No", "free"),
    ])
    let first = try await scenario.apply()
    let run1 = try first.run()
    #expect(try first.sync().logError == nil)
    #expect(try changelog(scenario, run: run1.id) == [
      ["added", "1", "succeeded", "no", "1", "pro"], ["added", "2", "succeeded", "no", "2", "free"],
      ["added", "3", "succeeded", "no", "3", "pro"], ["added", "4", "failed", "yes", "4", "banned"],
      ["added", nil, "failed", "yes", nil, "free"],
    ])
    #expect(try scenario.logRows(
      "select failed_reason from {table} where row_id is null", table: "sync_changelog") == [["primary key is NULL"]])

    try scenario.sql("update users set plan = 'team' where user_id = 2; delete from users where user_id = 3")
    let run2 = try await scenario.apply().run()
    #expect(try changelog(scenario, run: run2.id) == [
      ["changed", "2", "succeeded", "no", "2", "team"], ["removed", "3", "succeeded", "no", "3", nil],
      ["added", "4", "failed", "yes", "4", "banned"], ["added", nil, "failed", "yes", nil, "free"],
    ])
    // Every model row, with its latest status; the removed row is gone.
    #expect(try snapshot(scenario) == [
      ["unchanged", "1", "succeeded"], ["changed", "2", "succeeded"], ["added", "4", "failed"], ["added", nil, "failed"],
    ])
    let runs = try scenario.logRows(
      """
      select sync_run_id, status, num_planned_add, num_planned_change, num_planned_remove, num_succeeded_change,
        num_failed_add, primary_key, model_name, destination
      from {table} order by sync_run_id
      """, table: "sync_runs")
    #expect(runs == [
      ["\(run1.id)", "failed", "5", "0", "0", "0", "2", "user_id", "users", "local/contacts"],
      ["\(run2.id)", "failed", "2", "1", "1", "1", "2", "user_id", "users", "local/contacts"],
    ])
  }

  @Test func fieldsHoldTheWholeModelRowAndRemovedRowsWhatTheSnapshotKept() async throws {
    let scenario = try scenario(.sqlite)
    try scenario.sql("alter table users add column unused text")
    scenario.write(["syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: select * from users\n"])
    try scenario.sql("insert into users values (1, 'ada@example.com', 'Ada', 'pro', 'kept')")
    let run1 = try await scenario.apply().run()
    #expect(try scenario.logRows("select fields from {table} where sync_run_id = \(run1.id)", table: "sync_changelog") == [
      [#"{"user_id":1,"email":"ada@example.com","first_name":"Ada","plan":"pro","unused":"kept"}"#]
    ])
    // A change to a column the sync does not use is not a change, but the snapshot shows it.
    try scenario.sql("update users set unused = 'new'")
    #expect(try scenario.plan().sync().data?.change == 0)
    try await scenario.apply()
    #expect(try scenario.logRows("select op_type, json_extract(fields, '$.unused') from {table}", table: "sync_snapshot")
      == [["unchanged", "new"]])
    try scenario.sql("delete from users")
    let removal = try await scenario.apply(allowMassDelete: true).run()
    #expect(try scenario.logRows("select op_type, fields from {table} where sync_run_id = \(removal.id)", table: "sync_changelog")
      == [["removed", #"{"user_id":"1","email":"ada@example.com"}"#]])
    #expect(try snapshot(scenario).isEmpty)
  }

  @Test func rowsARunNeverAttemptedAreLoggedAsAborted() async throws {
    let scenario = try scenario(.sqlite, sync: Scenario.sync + "batch: { size: 1 }\n")
    try scenario.insert([
      (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"), (3, "kat@example.com", "Kat", "pro"),
    ])
    _ = try scenario.plan(out: scenario.planFile)
    let cancellation = Cancellation()
    let engine = Engine(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState(writing: true))
    let run = try await engine.apply(
      planFile: scenario.planFile, cancellation: cancellation, observer: CancelAfterFirstBatch(cancellation)
    ).run()
    #expect(run.status == .aborted && run.aborted.add == 2)
    #expect(try scenario.logRows("select status, count(*) from {table} group by status order by status", table: "sync_changelog")
      == [["aborted", "2"], ["succeeded", "1"]])
    #expect(try scenario.logRows("select status, count(*) from {table} group by status order by status", table: "sync_snapshot")
      == [["aborted", "2"], ["succeeded", "1"]])
    #expect(try scenario.logRows("select status, num_succeeded_add, num_failed_add from {table}", table: "sync_runs")
      == [["aborted", "1", "0"]])
  }

  @Test func aRefusedRunLogsEveryRowAsAborted() async throws {
    let scenario = try scenario(.sqlite)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free")])
    try await scenario.apply()
    try scenario.sql("delete from users")
    let refused = try await scenario.apply().run()
    #expect(refused.status == .failed)
    #expect(try scenario.logRows("select op_type, status from {table} where sync_run_id = \(refused.id)", table: "sync_changelog")
      == [["removed", "aborted"], ["removed", "aborted"]])
  }

  @Test func aFailureToWriteLogsIsReportedAndTheRunStaysRecorded() async throws {
    let scenario = try scenario(.sqlite)
    // A table of that name that is not Backflow's.
    try scenario.sql("create table backflow_audit_sync_runs (something text)")
    try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
    let outcome = try await scenario.apply().sync()
    #expect(outcome.run?.status == .succeeded)
    let error = try #require(outcome.logError)
    #expect(error.contains("could not write the sync logs") && error.contains("backflow_audit_sync_runs"))
    #expect(try scenario.crmRows("select email from contacts") == [["ada@example.com"]])
    #expect(try scenario.openState().runs().first?.status == .succeeded)
    #expect(try !scenario.plan().hasChanges)
  }

  @Test func aPlanFileMadeWithoutSyncLogsIsRefusedOnceTheyAreOn() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
    _ = try scenario.plan(out: scenario.planFile)
    try scenario.enableSyncLogs()
    await #expect(throws: ApplyError.self) { try await scenario.applyPlanFile() }
  }
}
