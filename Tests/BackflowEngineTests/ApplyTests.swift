import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `apply` through the engine: a real warehouse (SQLite or PostgreSQL), a real SQLite "CRM", and
/// the row semantics of DESIGN.md.
@Suite("apply")
struct ApplyTests {
  let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
    (3, "katherine@example.com", "Katherine", "pro"), (4, "annie@example.com", "Annie", "team"),
  ]

  /// The CRM's contacts as (email, first_name, tier), by email.
  func contacts(_ scenario: Scenario) throws -> [[String?]] {
    try scenario.crmRows("select email, first_name, tier from contacts order by email")
  }

  @Test(arguments: Backend.allCases)
  func firstApplySendsEveryRowThenOnlyWhatChanged(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert(people)
    let first = try await scenario.apply().run()
    #expect(first.status == .succeeded && first.planned == OperationCounts(add: 4))
    #expect(first.succeeded == OperationCounts(add: 4) && first.attempted == OperationCounts(add: 4))
    #expect(try contacts(scenario).map { $0[0] } == ["ada@example.com", "annie@example.com", "grace@example.com", "katherine@example.com"])
    #expect(try !scenario.plan().hasChanges)

    try scenario.sql(
      """
      update users set plan = 'team' where user_id = 2;
      delete from users where user_id = 4;
      insert into users values (5, 'mary@example.com', 'Mary', 'free');
      """)
    let second = try await scenario.apply().run()
    #expect(second.id > first.id && second.status == .succeeded)
    #expect(second.planned == OperationCounts(add: 1, change: 1, remove: 1))
    #expect(second.succeeded == OperationCounts(add: 1, change: 1, remove: 1))
    // on_delete defaults to nothing: Annie stays in the CRM.
    #expect(try contacts(scenario) == [
      ["ada@example.com", "Ada", "pro"], ["annie@example.com", "Annie", "team"], ["grace@example.com", "Grace", "team"],
      ["katherine@example.com", "Katherine", "pro"], ["mary@example.com", "Mary", "free"],
    ])
    #expect(try !scenario.plan().hasChanges)
    let runs = try scenario.openState().runs()
    #expect(runs.map(\.id) == [second.id, first.id] && runs.allSatisfy { $0.finishedAt != nil && $0.rowsQueried > 0 })
  }

  @Test(arguments: [("delete", nil as [String?]?), ("clear", ["annie@example.com", nil, nil])])
  func deleteBehaviourActsOnRowsThatLeftTheModel(behaviour: String, annie: [String?]?) async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: \(behaviour)\n"])
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("delete from users where user_id = 4")
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(remove: 1) && run.attempted == OperationCounts(remove: 1))
    let rows = try contacts(scenario)
    #expect(rows.count == (annie == nil ? 3 : 4))
    #expect(rows.first { $0[0] == "annie@example.com" } == annie)
  }

  @Test(arguments: Backend.allCases)
  func aRowTheDestinationRejectsFailsAloneAndIsRetriedByTheNextRun(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
    try scenario.insert(people + [(5, "eve@example.com", "Eve", "banned")])
    let outcomes = try await scenario.apply()
    let run = try outcomes.run()
    #expect(try run.status == .failed && !outcomes.sync().succeeded)
    #expect(run.succeeded == OperationCounts(add: 4) && run.failed == OperationCounts(add: 1))
    let failures = try scenario.openState().failures(runID: run.id)
    #expect(failures.count == 1 && failures[0].key == "5" && failures[0].reason.contains("CHECK constraint failed"))
    // The snapshot holds the four that arrived; the fifth is planned again.
    let retried = try #require(try scenario.plan().sync().data)
    #expect(retried.add == 1 && retried.unchanged == 4)

    try scenario.sql("update users set plan = 'pro' where user_id = 5")
    let retry = try await scenario.apply().run()
    #expect(retry.status == .succeeded && retry.succeeded == OperationCounts(add: 1))
    #expect(try contacts(scenario).count == 5 && !scenario.plan().hasChanges)
  }

  /// State is recorded one batch behind sending. When the state store refuses a batch's snapshot,
  /// the run stops, the snapshot holds only rows that reached the destination and none of the
  /// refused batch, and the next run sends what the snapshot lacks.
  @Test func aSnapshotWriteTheStateStoreRefusesStopsTheRunAndItsRowsAreSentAgain() async throws {
    guard Backend.postgres.available else { return }
    let scenario = try Scenario(.postgres)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "batch: { size: 2, concurrency: 1 }\n"])
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql(
      """
      create function refuse_key_8() returns trigger language plpgsql as
        $$ begin if new.row_key = '8' then raise exception 'state store refuses key 8'; end if; return new; end $$;
      create trigger refuse_key_8 before insert on backflow_state.snapshots for each row execute function refuse_key_8();
      """)
    try scenario.insert((5...10).map { (id: Int) in (id, "user\(id)@example.com", "User \(id)", "free") })
    let failed = try await scenario.apply().run()
    #expect(failed.status == .failed)
    #expect(failed.error?.contains("could not record the run in the state store") == true)
    #expect(failed.error?.contains("state store refuses key 8") == true)

    let state = try scenario.openState()
    let syncID = try #require(try state.syncs().first?.id)
    let stream = try state.snapshot(syncID: syncID)
    var snapshot: [String] = []
    while let entry = try stream.next() { snapshot.append(entry.key) }
    let sent = Set(try scenario.crmRows("select email from contacts").compactMap { $0[0] })
    // Keys go in byte order, so the batches are (10, 5), (6, 7) and the refused (8, 9): the
    // snapshot holds the others, nothing of the refused batch, and nothing the destination lacks.
    #expect(snapshot == ["1", "10", "2", "3", "4", "5", "6", "7"])
    for key in snapshot {
      let email = Int(key).map { $0 <= 4 ? people[$0 - 1].1 : "user\($0)@example.com" } ?? ""
      #expect(sent.contains(email), "\(key) is in the snapshot but not in the destination")
    }

    try scenario.sql("drop trigger refuse_key_8 on backflow_state.snapshots")
    let retry = try await scenario.apply().run()
    #expect(retry.status == .succeeded && retry.succeeded.add == 10 - snapshot.count)
    #expect(try contacts(scenario).count == 10 && !scenario.plan().hasChanges)
  }

  @Test func updateModeFailsRecordsTheDestinationDoesNotHave() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts\nmode: update")])
    try scenario.crm("insert into contacts values ('ada@example.com', 'old', 'old'), ('grace@example.com', 'old', 'old')")
    try scenario.insert(people)
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 2))
    #expect(try scenario.openState().failures(runID: run.id).map(\.reason) == ["not found", "not found"])
    #expect(try contacts(scenario) == [["ada@example.com", "Ada", "pro"], ["grace@example.com", "Grace", "free"]])
  }

  @Test func insertModeSendsNewRowsAndIgnoresChanges() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: local
        object: contacts
        mode: insert
        mappings:
          - { from: email, to: email }
          - { from: first_name, to: first_name }
          - { from: plan, to: tier }

        """
    ])
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("update users set plan = 'team' where user_id = 1")
    let outcomes = try await scenario.apply()
    let run = try outcomes.run()
    #expect(run.planned == OperationCounts(change: 1) && run.attempted == OperationCounts() && run.status == .succeeded)
    #expect(try outcomes.sync().notes.contains("1 changed row not sent: insert mode ignores changes"))
    #expect(try contacts(scenario).first?[2] == "pro" && !scenario.plan().hasChanges)
  }

  @Test func mirrorsFirstRunDeletesRecordsAbsentFromTheModelAndLaterRunsOnlyRemovals() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts\nmode: mirror")])
    try scenario.crm("insert into contacts values ('stranger@example.com', 'S', 'x'), ('ada@example.com', 'old', 'old')")
    try scenario.insert(people)
    #expect(try scenario.plan().sync().data?.sweep == true)
    let outcomes = try await scenario.apply()
    #expect(try outcomes.sync().notes.contains("mirror sweep deleted 1 record absent from the model"))
    #expect(try contacts(scenario).map { $0[0] } == ["ada@example.com", "annie@example.com", "grace@example.com", "katherine@example.com"])
    #expect(try scenario.openState().syncs().first?.sweptAt != nil && scenario.plan().sync().data?.sweep == false)

    try scenario.crm("insert into contacts values ('newcomer@example.com', 'N', 'x')")
    try scenario.sql("delete from users where user_id = 2")
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(remove: 1))
    #expect(try contacts(scenario).map { $0[0] } == ["ada@example.com", "annie@example.com", "katherine@example.com", "newcomer@example.com"])
  }

  @Test func mirrorsSweepWaitsWhileARowOfTheModelCannotBeSent() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "object: contacts", with: "object: contacts\nmode: mirror")])
    try scenario.crm("insert into contacts values ('stranger@example.com', 'S', 'x')")
    try scenario.insert(people + [(1, "twin@example.com", "Twin", "pro")])
    let outcomes = try await scenario.apply()
    #expect(try outcomes.sync().notes.contains { $0.hasPrefix("mirror's sweep was skipped: 1 row of the model could not be sent") })
    #expect(try contacts(scenario).contains { $0[0] == "stranger@example.com" })
    #expect(try scenario.openState().syncs().first?.sweptAt == nil)
  }

  @Test func eventSyncsInsertOneEventPerAddedRowOnly() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.crm("create table signups (user_id integer, email text, kind text)")
    scenario.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: local
        type: event
        object: signups
        mappings:
          - { from: user_id, to: user_id }
          - { from: email, to: email }
          - { value: signed_up, to: kind }

        """
    ])
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("update users set email = 'ada@new.example' where user_id = 1; insert into users values (5, 'mary@example.com', 'Mary', 'free')")
    let run = try await scenario.apply().run()
    #expect(run.attempted == OperationCounts(add: 1) && run.succeeded == OperationCounts(add: 1, change: 1))
    let events = try scenario.crmRows("select user_id, email, kind from signups order by user_id")
    #expect(events.count == 5 && events.last == ["5", "mary@example.com", "signed_up"])
  }

  @Test func listSyncsAddAndRemoveMembers() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.crm("create table members (email text primary key, list text)")
    scenario.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: local
        type: list
        object: members
        match: { email: email }
        mappings:
          - { value: newsletter, to: list }

        """
    ])
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("delete from users where user_id in (1, 2)")
    try await scenario.apply(allowMassDelete: true)
    #expect(try scenario.crmRows("select email, list from members order by email") == [
      ["annie@example.com", "newsletter"], ["katherine@example.com", "newsletter"],
    ])
  }

  @Test func aMassRemovalIsRefusedUnlessAllowedAndNothingIsSent() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: delete\n"])
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("delete from users where user_id > 1; update users set plan = 'x'")
    let refused = try await scenario.apply()
    #expect(try refused.sync().error?.hasPrefix("refused: removes 3 of the 4 rows last synced, more than max_remove 50%") == true)
    #expect(try refused.run().status == .failed && refused.run().attempted.total == 0 && refused.run().aborted.total == 4)
    #expect(try contacts(scenario).count == 4 && contacts(scenario)[0][2] == "pro")

    let allowed = try await scenario.applyPlanFile(allowMassDelete: true)
    #expect(try allowed.run().succeeded == OperationCounts(change: 1, remove: 3))
    #expect(try contacts(scenario) == [["ada@example.com", "Ada", "x"]])
  }

  @Test func aPlanFileIsRefusedOnceStateOrConfigMovedOn() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert(people)
    try await scenario.apply()
    try scenario.sql("update users set plan = 'team' where user_id = 1")
    let stale = scenario.directory.appendingPathComponent("stale.plan")
    _ = try scenario.plan(out: stale)
    try await scenario.apply()
    try FileManager.default.removeItem(at: scenario.planFile)
    try FileManager.default.copyItem(at: stale, to: scenario.planFile)
    await #expect(throws: ApplyError.self) { try await scenario.applyPlanFile() }
    do {
      _ = try await scenario.applyPlanFile()
    } catch let error as ApplyError {
      #expect(error.message.contains("has changed in state since the plan was made") && error.message.contains("plan` again"))
    }

    try scenario.sql("update users set plan = 'pro' where user_id = 1")
    _ = try scenario.plan(out: scenario.planFile)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "batch: { size: 2 }\n"])
    do {
      _ = try await scenario.applyPlanFile()
      Issue.record("a plan made before a config change was applied")
    } catch let error as ApplyError {
      #expect(error.message.hasPrefix("the configuration of sync users_to_crm has changed since the plan was made"))
    }
    #expect(try contacts(scenario)[0][2] == "team")
  }

  @Test func duplicateAndNullKeysFailWithTheirReasonAndNeverReachTheDestination() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert(people + [(1, "twin@example.com", "Twin", "pro"), (nil, "nobody@example.com", "No", "pro")])
    let run = try await scenario.apply().run()
    #expect(run.planned == OperationCounts(add: 6) && run.succeeded == OperationCounts(add: 4))
    #expect(run.failed == OperationCounts(add: 2) && run.attempted == OperationCounts(add: 4))
    let reasons = try scenario.openState().failures(runID: run.id).map(\.reason).sorted()
    #expect(reasons == ["duplicate primary key", "primary key is NULL"])
    #expect(try contacts(scenario).count == 4 && !contacts(scenario).contains { $0[0] == "nobody@example.com" })
  }

  @Test func resyncWithClearEmptiesTheTableAndResetCDCSendsNothing() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert(people)
    try await scenario.apply()
    let state = try scenario.openState(writing: true)
    let id = try #require(try state.syncs().first?.id)
    try scenario.crm("insert into contacts values ('stranger@example.com', 'S', 'x')")
    try state.setPending(PendingRequest(action: .resyncClear, requestedBy: "test", requestedAt: "now"), syncID: id)
    let resync = try await scenario.apply()
    #expect(try resync.run().succeeded == OperationCounts(add: 4) && contacts(scenario).count == 4)
    #expect(try resync.sync().notes.contains("cleared local/contacts before sending every row"))
    #expect(try !scenario.plan().hasChanges && state.syncs().first?.pending == nil)

    try scenario.sql("insert into users values (5, 'mary@example.com', 'Mary', 'free')")
    try state.setPending(PendingRequest(action: .resetCDC, requestedBy: "test", requestedAt: "now"), syncID: id)
    let reset = try await scenario.apply().run()
    #expect(reset.attempted.total == 0 && reset.status == .succeeded)
    #expect(try contacts(scenario).count == 4 && !scenario.plan().hasChanges)
  }

  @Test func aCancelledRunRecordsWhatItSentAndTheNextRunSendsTheRest() async throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "batch: { size: 1 }\n"])
    try scenario.insert(people)
    _ = try scenario.plan(out: scenario.planFile)
    let cancellation = Cancellation()
    let engine = Engine(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState(writing: true))
    let outcomes = try await engine.apply(
      planFile: scenario.planFile, cancellation: cancellation, observer: CancelAfterFirstBatch(cancellation))
    let run = try outcomes.run()
    #expect(run.status == .aborted && run.succeeded == OperationCounts(add: 1) && run.aborted == OperationCounts(add: 3))
    #expect(try contacts(scenario).count == 1)
    let rest = try #require(try scenario.plan().sync().data)
    #expect(rest.add == 3 && rest.unchanged == 1)
    let next = try await scenario.apply().run()
    #expect(try next.succeeded == OperationCounts(add: 3) && contacts(scenario).count == 4)
  }

  @Test func templatesAndStaticValuesAreRenderedPerRow() async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.crm("create table people (email text primary key, greeting text, source text, score integer)")
    scenario.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: local
        object: people
        match: { email: email }
        mappings:
          - { template: "Hello {{ first_name | upper }} ({{ plan | default: \\"none\\" }})", to: greeting }
          - { value: warehouse, to: source }
          - { from: user_id, to: score }

        """
    ])
    try scenario.sql("insert into users values (1, 'ada@example.com', 'Ada', null)")
    try await scenario.apply()
    #expect(try scenario.crmRows("select greeting, source, typeof(score) from people") == [["Hello ADA (none)", "warehouse", "integer"]])
  }
}
