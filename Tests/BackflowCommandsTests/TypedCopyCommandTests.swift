import BackflowPostgres
import BackflowTestSupport
import Foundation
import Testing

/// A typed copy (docs/state.md) that apply has to rewrite or fill is a change, as a stale
/// warehouse planning copy is: `plan --detailed-exitcode` exits 2 and `apply` runs the sync with
/// no rows to send, so the copy is made again without waiting for the model to change.
@Suite("typed copy at the command line")
struct TypedCopyCommandTests {
  static let behind = "typed copy: the copy of this sync's snapshot is missing or out of date"

  @Test func aCopyToRewriteOrFillMakesApplyRunTheSync() throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let scenario = try Scenario(.postgres, label: "copy_change")
    try scenario.sql(
      "insert into users select i, 'user' || i || '@example.com', 'User ' || i, 'free' from generate_series(1, 50) as i")
    let database = try #require(scenario.postgres).connect()
    try expectApply(scenario, runs: 1)
    #expect(try copy(database) == [50, 50])
    try expectPlan(scenario, status: 0)

    var runs = 1
    for spoil in ["drop table backflow_state.typed_copy_1", "update backflow_state.typed_copies set version = version - 1"] {
      try scenario.sql(spoil)
      try expectPlan(scenario, status: 2, warning: Self.behind)
      // Nothing changed in the model: the run sends nothing and rebuilds the copy with the
      // snapshot's keys.
      runs += 1
      try expectApply(scenario, runs: runs)
      #expect(try copy(database) == [50, 0], "after \(spoil)")
      // The next plan reads the copy: the rows it lacks values for come back, and the apply
      // after it records their values.
      try expectPlan(scenario, status: 2, warning: "typed copy: 50 rows of the copy of this sync's snapshot have no values yet")
      runs += 1
      try expectApply(scenario, runs: runs)
      #expect(try copy(database) == [50, 50], "after \(spoil)")
      try expectPlan(scenario, status: 0)
    }
    #expect(try scenario.crmRows("select count(*) from contacts") == [["50"]])
  }

  /// Runs `plan --detailed-exitcode`: its status, and its one typed copy warning, if any.
  func expectPlan(
    _ scenario: Scenario, status: Int32, warning: String? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) throws {
    let plan = try scenario.backflow(["plan", "--detailed-exitcode"])
    #expect(plan.status == status, "\(plan.stdout)\(plan.stderr)", sourceLocation: sourceLocation)
    let warnings = plan.stdout.split(separator: "\n").filter { $0.contains("typed copy:") }
    #expect(warnings.count == (warning == nil ? 0 : 1), "\(plan.stdout)", sourceLocation: sourceLocation)
    if let warning { #expect(warnings.first?.contains(warning) == true, "\(plan.stdout)", sourceLocation: sourceLocation) }
  }

  /// Runs `apply --auto-approve` and expects it to succeed with `runs` runs recorded in all.
  func expectApply(_ scenario: Scenario, runs: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let apply = try scenario.backflow(["apply", "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)", sourceLocation: sourceLocation)
    let recorded = try #require(scenario.postgres, sourceLocation: sourceLocation).connect()
      .query("select count(*) from backflow_state.runs where status = 'succeeded'")
    #expect(recorded == [[String(runs)]], "\(apply.stdout)", sourceLocation: sourceLocation)
  }

  /// The copy's rows, and how many of them have their values.
  func copy(_ database: PostgresConnection) throws -> [Int] {
    let row = try database.query(
      "select count(*), count(*) filter (where \"backflow known\") from backflow_state.typed_copy_1").first ?? []
    return row.map { $0.flatMap { Int($0) } ?? -1 }
  }
}
