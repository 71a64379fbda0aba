import BackflowConfig
import BackflowPlanner
import BackflowPostgres
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Diffing inside PostgreSQL when the model's source is the state store's database: the same plan
/// and the same planned rows as streaming every row, and taken only when the databases are one.
@Suite("warehouse diff")
struct WarehouseDiffTests {
  /// Keys that sort differently by bytes and by Swift's `String` (composed and decomposed é),
  /// keys and values with quotes, commas, spaces, backslashes, tabs, newlines, parentheses and
  /// NULLs: everything `ROW(…)::text` quotes.
  static let table = """
    create table people (k text, code text, name text, score numeric, active boolean, tags jsonb,
      seen timestamptz, notes text);
    insert into people values
      ('1', 'c1', 'Ada', 1.50, true, '{"a": [1, 2]}', '2024-01-01 10:00:00+00', 'n'),
      ('10', 'c10', 'Grace "Amazing" Hopper', 2, false, '[]', null, null),
      ('9', 'c9', 'comma, and (parens)', null, null, null, '2024-02-29 23:59:59.5+00', ''),
      ('B', 'cB', '', 0.000, true, '"x"', null, 'tab	inside'),
      ('a', 'ca', 'back\\slash', -3, false, 'null', null, null),
      ('e\u{301}', 'ce1', 'decomposed', 1, true, null, null, null),
      ('\u{E9}', 'ce2', 'composed', 1, true, null, null, null),
      ('with space', 'cs', ' leading and trailing ', 7, true, '{}', null, null),
      ('quote''s', 'cq', 'it''s', 8, false, null, null, null),
      ('new
    line', 'cn', 'line
    break', 9, true, null, null, null),
      ('', 'cempty', 'empty key', 10, true, null, null, null),
      ('zz', 'czz', 'left alone', 11, true, null, null, null),
      ('zzz', 'czzz', 'removed later', 12, true, null, null, null);
    """

  static let model = "source: warehouse\nprimary_key: k\nquery: select * from people\n"

  static let sync = """
    model: people
    destination: local
    object: people_out
    match: { code: code }
    mappings:
      - { from: name, to: name }
      - { from: score, to: score }
      - { template: "{{ active }}/{{ tags }}/{{ seen }}", to: summary }
      - { value: "fixed", to: origin }
    max_remove: 100%

    """

  /// Rows that change, arrive, leave, repeat a key or have none, and one changed only in a column
  /// the sync does not use.
  static let churn = """
    update people set name = 'Ada Lovelace' where k = '1';
    update people set tags = '{"a": [1, 2, 3]}' where k = 'B';
    update people set notes = 'not used by the sync' where k = 'zz';
    delete from people where k in ('zzz', '9');
    insert into people values
      ('2', 'c2', 'new, "quoted"', 3.25, true, null, null, null),
      ('ü', 'cu', 'unicode ✓', 4, null, null, null, null),
      ('10', 'c10b', 'repeats an unchanged key', 2, false, '[]', null, null),
      ('1', 'c1b', 'repeats a changed key', 1.5, true, null, null, null),
      ('2', 'c2', 'new, "quoted"', 3.25, true, null, null, null),
      ('2', 'c2c', 'repeats an added key', 3.25, true, null, null, null),
      (null, 'cnull1', 'no key', 1, true, null, null, null),
      (null, 'cnull2', 'no key either', 2, true, null, null, null);
    """

  func scenario() throws -> Scenario {
    let scenario = try Scenario(.postgres, label: "warehouse")
    scenario.write(["syncs/models/people.yaml": Self.model, "syncs/people_to_crm.yaml": Self.sync])
    try scenario.remove("syncs/users_to_crm.yaml")
    try scenario.sql(Self.table)
    try scenario.crm(
      "create table people_out (code text primary key, name text, score text, summary text, origin text)")
    return scenario
  }

  @Test func plansTheSameAsStreamingEveryRow() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    let first = try await scenario.apply()
    #expect(first.allSatisfy { $0.succeeded }, "\(first)")
    try scenario.sql(Self.churn)

    let (plan, rows) = try expectSamePlans(scenario)
    let data: DataPlan = try #require(try plan.sync("people_to_crm").data)
    #expect((data.add, data.remove, data.duplicateKeys, data.nullKeys, data.rowsQueried) == (2, 2, 4, 2, 19))
    // Key 10's repeat is planned if its fingerprint is the smaller one, and then it is a change.
    #expect(data.change + data.unchanged == 11 && data.change >= 2 && data.unchanged >= 8)
    #expect(data.sampleKeys[.add] == ["2", "ü"] && data.sampleKeys[.change]?.first == "1")
    #expect(data.sampleKeys[.change]?.contains("B") == true)
    #expect(data.sampleKeys[.remove] == ["9", "zzz"])
    let removals: [SnapshotEntry] = rows.compactMap { row in
      if case let .remove(entry) = row { entry } else { nil }
    }
    #expect(removals.map(\.matchValue) == ["\"c9\"", "\"czzz\""])

    // A mapping change changes every fingerprint.
    scenario.write(["syncs/people_to_crm.yaml": Self.sync.replacingOccurrences(of: "to: score", with: "to: points")])
    let (remapped, _) = try expectSamePlans(scenario)
    #expect(try remapped.sync("people_to_crm").data?.change == 11)

    // A table whose key has a unique index needs no search for repeated keys.
    try scenario.sql("create table people_pk as select distinct on (k) * from people where k is not null and code not in ('c10b', 'c1b', 'c2c') order by k")
    try scenario.sql("alter table people_pk add primary key (k)")
    scenario.write([
      "syncs/people_to_crm.yaml": Self.sync,
      "syncs/models/people.yaml": "source: warehouse\nprimary_key: k\ntable: people_pk\n",
    ])
    let (unique, _) = try expectSamePlans(scenario)
    let uniqueData = try #require(try unique.sync("people_to_crm").data)
    #expect((uniqueData.add, uniqueData.change, uniqueData.remove, uniqueData.duplicateKeys) == (2, 2, 2, 0))
  }

  @Test func requestsAndKeyChangesStreamEveryRow() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    let applied = try await scenario.apply()
    #expect(applied.allSatisfy { $0.succeeded })
    try scenario.sql(Self.churn)
    let id = try #require(try scenario.plan().sync("people_to_crm").id)
    let state = try scenario.openState(writing: true)

    for action in [PendingRequest.Action.resync, .resetCDC] {
      try state.setPending(PendingRequest(action: action, requestedBy: "test", requestedAt: "now"), syncID: id)
      let (plan, _) = try expectSamePlans(scenario, inWarehouse: false)
      #expect(try plan.sync("people_to_crm").pending?.action == action)
    }
    try state.setPending(nil, syncID: id)
    let cleared = try expectSamePlans(scenario).plan
    #expect(try cleared.sync("people_to_crm").data?.diffedInWarehouse == true)

    scenario.write(["syncs/models/people.yaml": Self.model.replacingOccurrences(of: "primary_key: k", with: "primary_key: code")])
    let (rekeyed, _) = try expectSamePlans(scenario, inWarehouse: false)
    #expect(try rekeyed.sync("people_to_crm").data?.basis == .replaced)
  }

  /// The same database reached by another spelling (a key=value conninfo for the source, a URL
  /// for the state) is diffed there; another database on the same server, or SQLite state, is not.
  @Test func diffsInTheWarehouseOnlyWhenTheStateIsInTheModelsDatabase() async throws {
    guard Backend.postgres.available else { return }
    let same = try Scenario(.postgres, label: "warehouse_same")
    try same.insert([(1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free")])
    try await same.apply()
    try same.sql("update users set plan = 'team' where user_id = 2")
    let planned = try #require(try same.plan().sync().data)
    #expect(planned.diffedInWarehouse && planned.change == 1 && planned.unchanged == 1)

    let other = try PostgresDatabase.create("warehouse_state")
    let project = try String(contentsOf: same.directory.appendingPathComponent("backflow.yaml"), encoding: .utf8)
    let postgresURL = try #require(same.postgres?.url)
    same.write(["backflow.yaml": project.replacingOccurrences(of: postgresURL, with: other.url)])
    try same.crm("delete from contacts")
    try await same.apply()
    let elsewhere = try #require(try same.plan().sync().data)
    #expect(!elsewhere.diffedInWarehouse && elsewhere.unchanged == 2)

    same.write(["backflow.yaml": project.replacingOccurrences(of: "state: \(postgresURL)\n", with: "")])
    try await same.apply()
    let sqlite = try #require(try same.plan().sync().data)
    #expect(!sqlite.diffedInWarehouse && sqlite.unchanged == 2)
  }

  /// A source role that may not read the state's schema streams instead of failing.
  @Test func aSourceThatCannotReadTheStateStreams() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Scenario(.postgres, label: "warehouse_role")
    try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
    try await scenario.apply()
    let role = "bf_reader_\(UUID().uuidString.prefix(8).lowercased())"
    try scenario.sql("create role \(role) login; grant select on users to \(role)")
    scenario.environment["WAREHOUSE_URL"] = (scenario.postgres?.conninfo ?? "") + " user=\(role)"
    let data = try #require(try scenario.plan().sync().data)
    #expect(!data.diffedInWarehouse && data.unchanged == 1)
    try scenario.sql("grant usage on schema backflow_state to \(role); grant select on backflow_state.snapshots to \(role)")
    // Without SELECT on the typed copy the plan diffs by fingerprints, and that is no change:
    // apply could not let the role read it.
    let unread = try scenario.plan().sync()
    #expect(unread.data?.diffedInWarehouse == true && unread.data?.comparedWithCopy == false)
    #expect(unread.data?.rewritesPlanningCopy == false && !unread.hasChanges)
    #expect(
      unread.warnings == [
        "typed copy: the source's role may not read the copy of this sync's snapshot (it needs SELECT on "
          + "backflow_state.typed_copies, backflow_state.snapshot_versions and backflow_state.typed_copy_1): every row "
          + "was fingerprinted in the database instead"
      ])
    try scenario.sql(
      "grant select on backflow_state.typed_copies, backflow_state.snapshot_versions, backflow_state.typed_copy_1 to \(role)")
    let read = try scenario.plan().sync()
    #expect(read.data?.comparedWithCopy == true && read.warnings.isEmpty && !read.hasChanges)
  }

  /// Plans `scenario` diffing in the warehouse and streaming, expects the same plan and rows, and
  /// returns the warehouse's.
  @discardableResult
  func expectSamePlans(_ scenario: Scenario, inWarehouse: Bool = true, sourceLocation: Testing.SourceLocation = #_sourceLocation)
    throws -> (plan: Plan, rows: [PlannedRow])
  {
    let warehouse = try plan(scenario, diffsInWarehouse: true)
    let streamed = try plan(scenario, diffsInWarehouse: false)
    for (sync, other) in zip(warehouse.plan.syncs, streamed.plan.syncs) {
      #expect(sync.name == other.name, sourceLocation: sourceLocation)
      #expect(sync.warnings.filter { !$0.hasPrefix("typed copy:") } == other.warnings, sourceLocation: sourceLocation)
      #expect(sync.data.map(summary) == other.data.map(summary), sourceLocation: sourceLocation)
      #expect(sync.data?.diffedInWarehouse == inWarehouse, sourceLocation: sourceLocation)
      #expect(other.data?.diffedInWarehouse == false, sourceLocation: sourceLocation)
    }
    #expect(warehouse.plan.syncs.count == streamed.plan.syncs.count, sourceLocation: sourceLocation)
    // The database returns rows without a key in no particular order, on either path.
    #expect(unkeyed(warehouse.rows) == unkeyed(streamed.rows), sourceLocation: sourceLocation)
    #expect(keyed(warehouse.rows) == keyed(streamed.rows), sourceLocation: sourceLocation)
    #expect(warehouse.columns == streamed.columns, sourceLocation: sourceLocation)
    return (warehouse.plan, warehouse.rows)
  }

  func plan(_ scenario: Scenario, diffsInWarehouse: Bool) throws -> (plan: Plan, rows: [PlannedRow], columns: [String]) {
    let sink = RecordingSink()
    let planner = Planner(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState())
    planner.diffsInWarehouse = diffsInWarehouse
    let plan = try planner.plan(commit: nil, sampleSize: 100, sink: sink)
    #expect(!plan.diagnostics.hasErrors, "\(plan.diagnostics.sorted)")
    return (plan, sink.rows, sink.columns)
  }

  func summary(_ data: DataPlan) -> String {
    "\(data.basis) queried \(data.rowsQueried) add \(data.add) change \(data.change) remove \(data.remove) "
      + "unchanged \(data.unchanged) duplicate \(data.duplicateKeys) null \(data.nullKeys) recorded \(data.recorded) "
      + "ignored \(data.ignoredRemovals) previous \(data.previousRows) sweep \(data.sweep) "
      + "samples \(DataPlan.Operation.allCases.map { data.sampleKeys[$0] ?? [] }) rejected \(data.rejectedKeys)"
  }

  func unkeyed(_ rows: [PlannedRow]) -> [String] {
    rows.filter(isUnkeyed).map { "\($0)" }.sorted()
  }

  /// The rows with a key, less the unchanged ones a plan through the typed copy lists for apply
  /// to record in it.
  func keyed(_ rows: [PlannedRow]) -> [PlannedRow] {
    rows.filter { row in
      if case .unchanged = row { return false }
      return !isUnkeyed(row)
    }
  }

  func isUnkeyed(_ row: PlannedRow) -> Bool {
    if case let .reject(planned, .nullKey) = row { planned.key == nil } else { false }
  }
}
