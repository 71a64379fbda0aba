import BackflowPostgres
import BackflowTestSupport
import Foundation
import Testing

/// `kill -9` during an apply that keeps a typed copy (docs/state.md): the copy and the snapshot
/// change in the same transactions, so whatever moment the process dies at, the copy holds exactly
/// the snapshot's keys, each row whose values it knows fingerprints to its entry's fingerprint, and
/// its stamp names the snapshot's version.
@Suite("typed copy under kill -9")
struct TypedCopyKillTests {
  @Test func killMinusNineLeavesTheCopyInStepWithTheSnapshot() throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let scenario = try Scenario(.postgres, label: "kill_copy")
    let sync = try String(contentsOf: scenario.directory.appendingPathComponent("syncs/users_to_crm.yaml"), encoding: .utf8)
    scenario.write(["syncs/users_to_crm.yaml": sync + "batch: { size: 100, concurrency: 2 }\n"])
    try scenario.sql(
      """
      insert into users select i, 'user' || i || '@example.com', 'User ' || i, case i % 3 when 0 then 'pro' else 'free' end
      from generate_series(1, 40000) as i
      """)
    let database = try #require(scenario.postgres).connect()

    // The first run, sent while planned, and then one that changes every row.
    try killApply(scenario) {
      guard try database.query("select to_regclass('backflow_state.typed_copy_1') is not null").first?.first == "t" else {
        return false
      }
      return try database.query("select count(*) from backflow_state.snapshots").first?.first != "0"
    }
    try expectInStep(database, known: nil)
    try #require(BackflowProcess.run(["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment).status == 0)
    try expectInStep(database, known: 40000)

    try scenario.sql("update users set plan = 'team'")
    try killApply(scenario) { try sentRows(scenario, tier: "team") > 1000 }
    try expectInStep(database, known: 40000)
    // The killed run was planned into a temporary plan file it could not remove; the next apply does.
    #expect(try temporaryFiles(scenario).contains { $0.hasPrefix("backflow-plan-") })
    let resumed = try BackflowProcess.run(["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment)
    #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
    #expect(try temporaryFiles(scenario).isEmpty)
    try expectInStep(database, known: 40000)
    let after = try BackflowProcess.run(["plan", "--detailed-exitcode"], in: scenario.directory, environment: scenario.environment)
    #expect(after.status == 0, "\(after.stdout)")
    #expect(try sentRows(scenario, tier: "team") == 40000)
  }

  /// Starts `apply` and kills it with SIGKILL once `started` holds.
  func killApply(_ scenario: Scenario, started: () throws -> Bool) throws {
    let killed = try BackflowProcess.kill(
      ["apply", "--auto-approve"], in: scenario.directory, environment: scenario.environment, once: started)
    #expect(killed, "apply finished before it could be killed; make the model bigger")
  }

  func temporaryFiles(_ scenario: Scenario) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: scenario.temporaryFiles.path)
  }

  func sentRows(_ scenario: Scenario, tier: String? = nil) throws -> Int {
    let rows = try scenario.crmRows("select count(*) from contacts" + (tier.map { " where tier = '\($0)'" } ?? ""))
    return rows.first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0
  }

  /// The copy is stamped at the snapshot's version with its count of rows, has its keys, and each
  /// row whose values it knows (all `known` of them, when given) fingerprints as its entry says.
  func expectInStep(_ database: PostgresConnection, known: Int?, sourceLocation: Testing.SourceLocation = #_sourceLocation)
    throws
  {
    let row = try database.query(
      """
      select
        (select t.version = coalesce(v.version, 0) and t.rows = (select count(*) from backflow_state.typed_copy_1)
          from backflow_state.typed_copies t left join backflow_state.snapshot_versions v using (sync_id)),
        (select count(*) from backflow_state.snapshots s full join backflow_state.typed_copy_1 c on c."backflow key"::text = s.row_key
          where s.row_key is null or c."backflow key" is null),
        (select count(*) from backflow_state.typed_copy_1 c join backflow_state.snapshots s on s.row_key = c."backflow key"::text
          join backflow_state.typed_copies t on t.sync_id = s.sync_id
          where c."backflow known"
            and s.fingerprint <> md5(split_part(t.stamp, E'\\n', 2) || E'\\n' || ROW(c.c0, c.c1, c.c2)::text)),
        (select count(*) from backflow_state.typed_copy_1 where "backflow known"),
        (select count(*) from backflow_state.snapshots)
      """
    ).first
    #expect(row?[0] == "t" && row?[1] == "0" && row?[2] == "0", "\(row ?? [])", sourceLocation: sourceLocation)
    #expect(Int(row?[4] ?? nil ?? "") ?? 0 > 0, sourceLocation: sourceLocation)
    if let known { #expect(row?[3] == String(known), "\(row ?? [])", sourceLocation: sourceLocation) }
  }
}
