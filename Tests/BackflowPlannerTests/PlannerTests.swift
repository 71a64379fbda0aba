import BackflowConfig
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `plan` against real SQLite and PostgreSQL: models, state, and what a reviewer is shown.
@Suite("planner")
struct PlannerTests {
  let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
    (3, "katherine@example.com", "Katherine", "pro"), (4, "annie@example.com", "Annie", "team"),
  ]

  @Test(arguments: Backend.allCases)
  func firstPlanAddsEveryRowAndWritesNothing(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    let plan = try scenario.plan()
    let sync = try plan.sync()
    #expect(sync.configAction == .create && sync.id == nil)
    let data = try #require(sync.data)
    #expect((data.rowsQueried, data.add, data.change, data.remove) == (4, 4, 0, 0))
    #expect(data.sampleKeys[.add] == ["1", "2", "3", "4"])
    #expect(plan.hasChanges && plan.stateLineage == nil)
    // Planning created no state.
    #expect(try !scenario.openState().exists)
    if backend == .sqlite {
      #expect(!FileManager.default.fileExists(atPath: scenario.directory.appendingPathComponent(".backflow").path))
    }
  }

  @Test(arguments: Backend.allCases)
  func incrementalPlansListAddedChangedAndRemovedRowsAndAgreeWhenRepeated(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    try await scenario.apply()
    let quiet = try scenario.plan()
    #expect(try quiet.sync().configAction == .none && quiet.sync().id != nil)
    #expect(try quiet.sync().data?.unchanged == 4 && !quiet.hasChanges)

    try scenario.sql(
      """
      update users set plan = 'team' where user_id = 2;
      update users set email = email where user_id = 3;
      delete from users where user_id = 4;
      insert into users values (5, 'mary@example.com', 'Mary', 'free');
      """)
    let first = try scenario.plan()
    let second = try scenario.plan()
    for plan in [first, second] {
      let data = try #require(try plan.sync().data)
      #expect((data.add, data.change, data.remove, data.unchanged) == (1, 1, 1, 2))
      #expect(data.sampleKeys[.add] == ["5"] && data.sampleKeys[.change] == ["2"] && data.sampleKeys[.remove] == ["4"])
      #expect(data.previousRows == 4 && data.rowsQueried == 4)
    }
    // Applying catches the snapshot up.
    try await scenario.apply()
    #expect(try !scenario.plan().hasChanges)
  }

  @Test(arguments: Backend.allCases)
  func configChangesListEachPathAndAMappingChangeTouchesEveryRow(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    try await scenario.apply()
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "to: tier", with: "to: level")
      + "batch: { size: 100 }\n"])
    let sync = try scenario.plan().sync()
    #expect(sync.configAction == .update)
    #expect(
      sync.configChanges == [
        ConfigChange(path: "batch.size", before: .int(500), after: .int(100)),
        ConfigChange(path: "mappings[1].to", before: .string("tier"), after: .string("level")),
      ])
    #expect(sync.data?.change == 4)
    #expect(sync.warnings.contains { $0.contains("mappings changed") && $0.contains("4 planned as changed") })

    // A batch size alone changes the config, not the rows.
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "batch: { size: 100 }\n"])
    let batchOnly = try scenario.plan().sync()
    #expect(batchOnly.configAction == .update && batchOnly.data?.change == 0 && batchOnly.warnings.isEmpty)
  }

  @Test(arguments: Backend.allCases)
  func aSyncGoneFromTheRepositoryIsRetiredAndItsIDIsNeverReused(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    try await scenario.apply()
    let id = try #require(try scenario.plan().sync().id)
    try scenario.remove("syncs/users_to_crm.yaml")
    let retiring = try scenario.plan()
    #expect(try retiring.sync().configAction == .retire && retiring.sync().id == id)
    try await scenario.apply()
    #expect(try scenario.plan().syncs.isEmpty)
    // The same name coming back is a new sync with a new ID, starting from an empty snapshot.
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync])
    #expect(try scenario.plan().sync().configAction == .create)
    try await scenario.apply()
    let again = try scenario.plan().sync()
    #expect(try #require(again.id) > id)
  }

  @Test(arguments: Backend.allCases)
  func duplicateAndNullKeysArePlannedOnceAndWarned(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people + [(2, "grace2@example.com", "Grace", "pro"), (nil, "nobody@example.com", "No", "free")])
    let file = scenario.directory.appendingPathComponent("dup.plan")
    let sync = try scenario.plan(out: file).sync()
    let data = try #require(sync.data)
    #expect((data.rowsQueried, data.add, data.duplicateKeys, data.nullKeys) == (6, 4, 1, 1))
    #expect(sync.warnings.contains { $0.hasPrefix("duplicate primary keys (user_id): 1 row repeat") })
    #expect(sync.warnings.contains { $0.hasPrefix("NULL primary keys (user_id) in 1 row") })
    let rows = try PlanFileRows(url: file, sync: "users_to_crm", operations: ["reject"])
    var reasons: [RejectReason] = []
    while let row = try rows.next() {
      if case let .reject(_, reason) = row { reasons.append(reason) }
    }
    #expect(reasons == [.nullKey, .duplicateKey])
    // Two plans choose the same row for the duplicated key.
    #expect(try scenario.plan().sync().data?.sampleKeys == data.sampleKeys)
  }

  @Test(arguments: Backend.allCases)
  func missingColumnsAreErrorsAtTheLinesThatNameThem(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "from: plan", with: "from: plna")
        + "  - { template: \"{{ first_name }} {{ surname | default: nick }}\", to: full_name }\n"
    ])
    let plan = try scenario.plan(expectSuccess: false)
    #expect(try plan.sync().failed && plan.sync().data == nil)
    #expect(
      plan.diagnostics.sorted.map(\.description) == [
        "syncs/users_to_crm.yaml:7:13: error: mappings[1].from names column \"plna\", which model users does not return; "
          + "did you mean \"plan\"?; its columns are user_id, email, first_name, plan",
        "syncs/users_to_crm.yaml:8:17: error: mappings[2].template names column \"surname\", which model users does not "
          + "return; its columns are user_id, email, first_name, plan",
        "syncs/users_to_crm.yaml:8:17: error: mappings[2].template names column \"nick\", which model users does not "
          + "return; its columns are user_id, email, first_name, plan",
      ])
  }

  @Test(arguments: Backend.allCases)
  func queryErrorsPointAtTheModel(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    scenario.write([
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: |\n  select user_id, email\n  from no_such_table\n"
    ])
    let plan = try scenario.plan(expectSuccess: false)
    let error = try #require(plan.diagnostics.sorted.first)
    #expect(plan.diagnostics.errorCount == 1)
    #expect(error.location.description == "syncs/models/users.yaml:3:8")
    #expect(error.message.hasPrefix("model users: "))
    #expect(error.message.contains("no_such_table"))
    if backend == .postgres { #expect(error.message.hasSuffix("(line 2 of the query)")) }
  }

  @Test(arguments: Backend.allCases)
  func warnsOfAMassRemovalAndAPrimaryKeyChange(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("delete from users where user_id > 1")
    let removal = try scenario.plan().sync()
    #expect(removal.data?.remove == 3)
    #expect(removal.warnings == [
      "removes 3 of the 4 rows last synced (75%), more than max_remove 50%: apply will refuse this sync unless "
        + "--allow-mass-delete is given"
    ])
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "max_remove: 3\n"])
    #expect(try scenario.plan().sync().warnings.isEmpty)

    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync,
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: email\nquery: select user_id, email, first_name, plan from users\n",
    ])
    let rekeyed = try scenario.plan().sync()
    let data = try #require(rekeyed.data)
    #expect((data.add, data.remove, data.basis, data.previousRows) == (1, 0, .replaced, 4))
    #expect(rekeyed.warnings.contains { $0.hasPrefix("the primary key changed from user_id to email") })
  }

  @Test(arguments: Backend.allCases)
  func resyncAndResetRequestsChangeWhatIsPlanned(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("delete from users where user_id = 4; update users set plan = 'x' where user_id = 1")
    let state = try scenario.openState(writing: true)
    let id = try #require(try scenario.plan().sync().id)

    try state.setPending(PendingRequest(action: .resync, requestedBy: "ada@laptop", requestedAt: "now"), syncID: id)
    let resync = try #require(try scenario.plan().sync().data)
    #expect((resync.add, resync.change, resync.remove, resync.ignoredRemovals, resync.basis) == (3, 0, 0, 1, .replaced))

    try state.setPending(PendingRequest(action: .resetCDC, requestedBy: "ada@laptop", requestedAt: "now"), syncID: id)
    let reset = try scenario.plan().sync()
    #expect((reset.data?.add, reset.data?.change, reset.data?.remove, reset.data?.recorded) == (0, 0, 0, 3))
    #expect(reset.hasChanges && reset.warnings.contains { $0.hasPrefix("a CDC reset was requested") })
    try await scenario.apply()
    let after = try scenario.plan().sync()
    #expect(after.pending == nil && after.data?.unchanged == 3 && !after.hasChanges)
  }
}
