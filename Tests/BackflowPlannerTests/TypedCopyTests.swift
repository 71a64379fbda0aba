import BackflowConfig
import BackflowPlanner
import BackflowPostgres
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Plans through the typed copy (docs/state.md) equal the diff in Backflow, whatever changed,
/// and a copy that is missing or out of date is never read.
@Suite("typed copy")
struct TypedCopyTests {
  /// Values whose text can differ while they compare equal (numeric scale, the sign of a float
  /// zero), NULLs next to empty strings, JSON scalars, and a key in its own type.
  static let table = """
    create table things (id bigint, amount numeric, ratio float8, label text, at timestamptz, doc jsonb,
      flag boolean, code text);
    insert into things values
      (1, 1.0, 0.5, 'a', '2024-01-01 00:00:00+00', '{"a": 1}', true, 'c1'),
      (2, 2.50, 1.5, null, null, '"s"', false, 'c2'),
      (3, 3, -1, '', '2024-06-01 12:00:00.123456+00', 'true', null, 'c3'),
      (4, 4, 0, 'x', null, null, true, 'c4'),
      (5, 5, 3, 'y', null, '1.0', true, 'c5'),
      (6, 6, 4, 'same', null, '[1, "two", null]', true, 'c6'),
      (7, 7, 5, 'gone', null, null, true, 'c7'),
      (10, 10, 6, 'ten', null, null, true, 'c10');
    """

  static let churn = """
    update things set amount = 1.00 where id = 1;
    update things set label = '' where id = 2;
    update things set label = null where id = 3;
    update things set ratio = '-0' where id = 4;
    update things set doc = '1.00' where id = 5;
    delete from things where id = 7;
    insert into things values
      (8, 8, 8, 'new', null, null, false, 'c8'),
      (6, 6, 4, 'same', null, '[1, "two", null]', true, 'c6b'),
      (10, 11, 6, 'ten again', null, null, true, 'c10b'),
      (null, 1, 1, 'no key', null, null, true, 'cn1'),
      (null, 2, 2, 'no key either', null, null, true, 'cn2');
    """

  static let sync = """
    model: things
    destination: local
    object: things_out
    match: { code: code }
    mappings:
      - { from: amount, to: amount }
      - { from: ratio, to: ratio }
      - { from: label, to: label }
      - { template: "{{ at }}/{{ doc }}/{{ flag }}", to: summary }
    max_remove: 100%

    """

  func scenario() throws -> Scenario {
    let scenario = try Scenario(.postgres, label: "typed_copy")
    scenario.write([
      "syncs/models/things.yaml": "source: warehouse\nprimary_key: id\nquery: select * from things\n",
      "syncs/things_to_crm.yaml": Self.sync,
    ])
    try scenario.remove("syncs/users_to_crm.yaml")
    try scenario.sql(Self.table)
    try scenario.crm(
      "create table things_out (code text primary key, amount text, ratio text, label text check (label <> 'refused'), summary text)")
    return scenario
  }

  let diff = WarehouseDiffTests()

  @Test func plansThroughTheCopyEqualTheDiffInBackflow() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    let first = try await scenario.apply()
    #expect(first.allSatisfy { $0.succeeded }, "\(first)")
    #expect(try copyRows(scenario) == (8, 8, 8))

    try scenario.sql(Self.churn)
    let (plan, rows) = try diff.expectSamePlans(scenario)
    let data = try #require(try plan.sync("things_to_crm").data)
    #expect(data.comparedWithCopy)
    #expect(data.sampleKeys[.change] == ["1", "2", "3", "4", "5"] && data.sampleKeys[.add] == ["8"])
    #expect(data.sampleKeys[.remove] == ["7"] && data.duplicateKeys == 2 && data.nullKeys == 2)
    #expect(data.unchanged == 2)
    // Key 6 repeats itself exactly and key 10 differs from its copy: both come back, unchanged.
    #expect(unchangedKeys(rows) == ["10", "6"])

    let second = try await scenario.apply()
    #expect(second.allSatisfy { $0.run?.failed.change == 0 }, "\(second)")
    #expect(try copyRows(scenario) == (8, 8, 8))
    let (settled, settledRows) = try diff.expectSamePlans(scenario)
    let settledData = try #require(try settled.sync("things_to_crm").data)
    #expect(settledData.comparedWithCopy && settledData.change == 0 && settledData.add == 0 && settledData.remove == 0)
    #expect(unchangedKeys(settledRows) == ["10", "6"])
  }

  @Test func aCopyOutOfDateOrMissingIsNotReadAndApplyRewritesIt() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    try await scenario.apply()
    let id = try #require(try scenario.plan().sync("things_to_crm").id)

    // A snapshot write without the copy (as the drift check's removals are) leaves it behind.
    try scenario.openState(writing: true).updateSnapshot(syncID: id, entries: [], removedKeys: ["7"])
    try scenario.sql("update things set label = 'changed' where id = 1")
    let (stale, _) = try diff.expectSamePlans(scenario)
    let staleSync = try stale.sync("things_to_crm")
    #expect(staleSync.data?.comparedWithCopy == false && staleSync.data?.change == 1 && staleSync.data?.add == 1)
    #expect(staleSync.warnings.contains { $0.hasPrefix("typed copy: the copy of this sync's snapshot is missing or out of date") })
    #expect(staleSync.data?.rewritesPlanningCopy == true)

    // Apply rebuilds it with every key and no values, then records those of the rows it sends
    // (1 changed, 7 added); the next plan fingerprints the others and lists them for the apply
    // after it, which records their values.
    try await scenario.apply()
    #expect(try copyRows(scenario) == (8, 8, 2))
    let (rebuilt, rebuiltRows) = try diff.expectSamePlans(scenario)
    #expect(try rebuilt.sync("things_to_crm").data?.comparedWithCopy == true)
    #expect(unchangedKeys(rebuiltRows) == ["10", "2", "3", "4", "5", "6"])
    // A copy that lacks values is read, and is a change: apply is to fill it.
    #expect(
      try rebuilt.sync("things_to_crm").warnings == [
        "typed copy: 6 rows of the copy of this sync's snapshot have no values yet (the copy was rebuilt): they were "
          + "fingerprinted in the database, and apply records their values"
      ])
    #expect(try rebuilt.sync("things_to_crm").data?.rewritesPlanningCopy == true)
    let refreshed = try await scenario.apply()
    let counts = try copyRows(scenario)
    #expect(counts == (8, 8, 8), "\(counts) \(refreshed)")
    let (filled, filledRows) = try diff.expectSamePlans(scenario)
    #expect(unchangedKeys(filledRows).isEmpty)
    #expect(try filled.sync("things_to_crm").warnings.isEmpty && !filled.hasChanges)

    // A copy dropped by hand, and one made for other mappings, are not read either.
    try scenario.sql("drop table backflow_state.typed_copy_\(id)")
    let dropped = try diff.expectSamePlans(scenario).plan.sync("things_to_crm").data
    #expect(dropped?.comparedWithCopy == false && dropped?.rewritesPlanningCopy == true)
    try await scenario.apply()
    #expect(try diff.expectSamePlans(scenario).plan.sync("things_to_crm").data?.comparedWithCopy == true)
    scenario.write(["syncs/things_to_crm.yaml": Self.sync.replacingOccurrences(of: "to: ratio", with: "to: rate")])
    let remapped = try diff.expectSamePlans(scenario).plan.sync("things_to_crm")
    #expect(remapped.data?.comparedWithCopy == false && remapped.data?.change == 8 && remapped.data?.rewritesPlanningCopy == true)
  }

  /// A row the destination refuses keeps its snapshot entry, and its copy keeps the values that
  /// entry was taken over: the next plan still finds it changed.
  @Test func aFailedRowsCopyDoesNotAdvance() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    try await scenario.apply()
    try scenario.sql("update things set label = 'refused' where id = 4; update things set label = 'ok' where id = 5")
    let outcome = try await scenario.apply()
    #expect(outcome.first?.run?.failed.change == 1 && outcome.first?.run?.succeeded.change == 1, "\(outcome)")
    // The copy's columns are the sync's in their order: amount, at, code, doc, flag, label, ratio.
    let labels = try rows(scenario, "select \"backflow key\"::text, c5 from backflow_state.typed_copy_1 where \"backflow key\" in (4, 5) order by 1")
    #expect(labels == [["4", "x"], ["5", "ok"]])
    let (plan, _) = try diff.expectSamePlans(scenario)
    #expect(try plan.sync("things_to_crm").data?.sampleKeys[.change] == ["4"])
    #expect(try plan.sync("things_to_crm").data?.comparedWithCopy == true)
  }

  /// A table whose integer key has a unique index is diffed in two halves of the copy's keys
  /// (1–40, split after 20, the middle of the range while the copy has no statistics), on two
  /// sessions at once: changes, additions and removals at both ends and on each side of the
  /// bound, keys below and above the copy's, and rows without a key, which only the upper half
  /// reads, are planned as the diff in Backflow plans them.
  @Test func aTableSplitByItsKeyPlansAsTheDiffInBackflow() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Scenario(.postgres, label: "typed_copy_split")
    scenario.write([
      "syncs/models/ranked.yaml": "source: warehouse\nprimary_key: id\ntable: ranked\n",
      "syncs/ranked_to_crm.yaml": """
        model: ranked
        destination: local
        object: ranked_out
        match: { id: id }
        mappings:
          - { from: label, to: label }
          - { from: amount, to: amount }
        max_remove: 100%

        """,
    ])
    try scenario.remove("syncs/users_to_crm.yaml")
    try scenario.sql(
      """
      create table ranked (id bigint unique, label text, amount numeric);
      insert into ranked select i, 'row ' || i, i * 1.5 from generate_series(1, 40) as i;
      """)
    try scenario.crm("create table ranked_out (id text primary key, label text, amount text)")
    let first = try await scenario.apply()
    #expect(first.allSatisfy { $0.succeeded }, "\(first)")
    #expect(try copyRows(scenario) == (40, 40, 40))

    try scenario.sql(
      """
      update ranked set label = 'changed' where id in (3, 20, 21, 39);
      update ranked set amount = 30.00 where id = 20;
      delete from ranked where id in (1, 25, 40);
      insert into ranked values (0, 'zero', 0), (-5, 'below', 1), (41, 'above', 2), (1000, 'far', 3),
        (null, 'no key', 4), (null, 'no key either', 5);
      """)
    let (plan, rows) = try diff.expectSamePlans(scenario)
    let data = try #require(try plan.sync("ranked_to_crm").data)
    #expect(data.comparedWithCopy)
    #expect(Set(data.sampleKeys[.change] ?? []) == ["3", "20", "21", "39"])
    #expect(Set(data.sampleKeys[.add] ?? []) == ["-5", "0", "41", "1000"])
    #expect(Set(data.sampleKeys[.remove] ?? []) == ["1", "25", "40"])
    #expect(data.nullKeys == 2 && data.duplicateKeys == 0 && data.unchanged == 33)
    #expect(unchangedKeys(rows).isEmpty)

    // The rows without a key fail, as they always do; the rest arrive.
    let second = try await scenario.apply()
    let run = try #require(second.first?.run)
    #expect(run.succeeded == OperationCounts(add: 4, change: 4, remove: 3) && run.failed.add == 2, "\(second)")
    #expect(try copyRows(scenario) == (41, 41, 41))
    try scenario.sql("delete from ranked where id is null")
    let (settled, _) = try diff.expectSamePlans(scenario)
    let settledData = try #require(try settled.sync("ranked_to_crm").data)
    #expect(settledData.comparedWithCopy && !settled.hasChanges && settledData.unchanged == 41)

    // With statistics, the bound is the median of the copy's 41 keys (-5, 0, 2…24, 26…39, 41, 1000): 20.
    let id = try #require(settled.sync("ranked_to_crm").id)
    try scenario.sql("analyze backflow_state.typed_copy_\(id)")
    #expect(try self.rows(scenario, "select (histogram_bounds::text::int[])[21] from pg_stats where tablename = 'typed_copy_\(id)' and attname = 'backflow key'") == [["20"]])
    try scenario.sql("update ranked set label = 'again' where id in (-5, 20, 21, 1000); delete from ranked where id in (2, 24)")
    let (statistics, _) = try diff.expectSamePlans(scenario)
    let statisticsData = try #require(try statistics.sync("ranked_to_crm").data)
    #expect(statisticsData.comparedWithCopy && statisticsData.change == 4 && statisticsData.remove == 2)

    // A store from before the stamp kept the copy's count: the plan counts the copy, and the
    // next apply adds the column and counts it once.
    try scenario.sql("alter table backflow_state.typed_copies drop column rows")
    #expect(try diff.expectSamePlans(scenario).plan.sync("ranked_to_crm").data?.comparedWithCopy == true)
    try await scenario.apply()
    #expect(try copyRows(scenario) == (39, 39, 39))
  }

  /// The stamps' table is made when a writer opens the store, under the migration's lock, not in
  /// a run's transaction, where two daemons starting together would race to make it.
  @Test func aWriterOpeningTheStoreMakesTheStampsTable() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    _ = try scenario.openState(writing: true)
    let made = try rows(
      scenario,
      """
      select count(*) from pg_attribute
      where attrelid = to_regclass('backflow_state.typed_copies') and attname = 'rows' and not attisdropped
      """)
    #expect(made == [["1"]])
  }

  /// A snapshot write whose changed entries name a key the copy lacks (which no run makes, the
  /// copy holding the snapshot's keys) adds it to the copy, and the stamp counts it.
  @Test func aChangedEntryTheCopyLacksIsAddedAndCounted() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try scenario()
    try await scenario.apply()
    let id = try #require(try scenario.plan().sync("things_to_crm").id)
    let stamp = try #require(try rows(scenario, "select stamp from backflow_state.typed_copies").first?.first ?? nil)
    let types = try rows(
      scenario,
      """
      select format_type(atttypid, atttypmod) from pg_attribute
      where attrelid = 'backflow_state.typed_copy_\(id)'::regclass and attname ~ '^c[0-9]+$' order by attnum
      """
    ).map { $0[0] ?? "" }
    let values: [String?] = types.map { $0 == "boolean" ? "true" : $0.hasPrefix("timestamp") ? nil : $0 == "jsonb" ? "1" : "9" }
    try scenario.openState(writing: true).updateSnapshot(
      syncID: id,
      entries: [
        SnapshotEntry(key: "2", fingerprint: "f2", matchValue: "c2", values: values),
        SnapshotEntry(key: "99", fingerprint: "f99", matchValue: "c99", values: values),
      ],
      removedKeys: [], copy: TypedCopy(keyType: "bigint", types: types, stamp: stamp))
    #expect(try copyRows(scenario) == (9, 9, 9))
    #expect(try rows(scenario, "select c0::text from backflow_state.typed_copy_\(id) where \"backflow key\" in (2, 99)") == [["9"], ["9"]])
  }

  /// The copy's rows, the snapshot's, and the copy's rows whose values are known; the copy's
  /// stamp must record its count of rows.
  func copyRows(_ scenario: Scenario, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> (Int, Int, Int) {
    let row = try rows(scenario, 
      """
      select (select count(*) from backflow_state.typed_copy_1), (select count(*) from backflow_state.snapshots),
        (select count(*) from backflow_state.typed_copy_1 where "backflow known"),
        (select rows from backflow_state.typed_copies where sync_id = 1)
      """
    ).first
    let counts = (row ?? []).map { $0.flatMap { Int($0) } ?? -1 }
    #expect(counts[3] == counts[0], "the stamp records \(counts[3]) rows", sourceLocation: sourceLocation)
    return (counts[0], counts[1], counts[2])
  }

  func rows(_ scenario: Scenario, _ query: String) throws -> [[String?]] {
    try #require(scenario.postgres).connect().query(query)
  }

  func unchangedKeys(_ rows: [PlannedRow]) -> [String] {
    rows.compactMap { row in if case let .unchanged(planned) = row { planned.key } else { nil } }
  }
}
