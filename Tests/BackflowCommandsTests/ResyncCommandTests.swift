import BackflowConfig
import BackflowPostgres
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow resync` and `backflow reset-cdc` run as a user runs them, then carried out by the
/// next apply against real destinations.
@Suite("backflow resync and reset-cdc")
struct ResyncCommandTests {
  static let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
    (3, "katherine@example.com", "Katherine", "pro"), (4, "annie@example.com", "Annie", "team"),
  ]

  /// A scenario with the four people applied once, deleting removed rows.
  func applied(_ backend: Backend, onDelete: String = "delete") throws -> Scenario {
    let scenario = try Scenario(backend)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: \(onDelete)\n"])
    try scenario.insert(Self.people)
    try expectSuccess(scenario.backflow(["apply", "--auto-approve"]))
    return scenario
  }

  func expectSuccess(_ output: BackflowProcess.Output, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(output.status == 0, "\(output.stdout)\(output.stderr)", sourceLocation: sourceLocation)
  }

  func contacts(_ scenario: Scenario) throws -> [[String?]] {
    try scenario.crmRows("select email, first_name, tier from contacts order by email")
  }

  /// `user@host` as the commands record the one who asks.
  static var requester: String {
    let user = getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? ""
    return "\(user)@\(ProcessInfo.processInfo.hostName)"
  }

  // MARK: Resync

  @Test(arguments: Backend.allCases)
  func resyncSendsEveryRowAsAddedAndRemovesNothing(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try applied(backend)
    // Drift the CRM behind Backflow's back: a diffing run would not notice.
    try scenario.crm("update contacts set tier = 'tampered' where email = 'ada@example.com'")
    try scenario.sql("delete from users where user_id = 4")

    let before = Date().addingTimeInterval(-1)
    let requested = try scenario.backflow(["resync", "users_to_crm"])
    expectSuccess(requested)
    #expect(requested.stdout.hasPrefix("users_to_crm (#1): full resync requested by \(Self.requester) at "))
    #expect(requested.stdout.contains(
      "Rows that left the model since the last run are not deleted from the destination, although on_delete is delete."))
    #expect(requested.stdout.contains("Plan files made before now are stale"))
    let pending = try #require(try scenario.syncRecord().pending)
    #expect(pending.action == .resync && pending.requestedBy == Self.requester)
    let at = try #require(try? Date(pending.requestedAt, strategy: .iso8601))
    #expect(at >= before && at <= Date().addingTimeInterval(1))

    let apply = try scenario.backflow(["apply", "--auto-approve"])
    expectSuccess(apply)
    #expect(apply.stdout.contains(" - 3 to add, 0 to change, 0 to remove; 3 succeeded\n"))
    // Ada is sent again; Annie, gone from the model, is not deleted.
    #expect(try contacts(scenario) == [
      ["ada@example.com", "Ada", "pro"], ["annie@example.com", "Annie", "team"], ["grace@example.com", "Grace", "free"],
      ["katherine@example.com", "Katherine", "pro"],
    ])
    #expect(try scenario.syncRecord().pending == nil && scenario.snapshot().map(\.key) == ["1", "2", "3"])
    let again = try scenario.backflow(["plan", "--detailed-exitcode"])
    #expect(again.status == 0, "\(again.stdout)")
  }

  @Test func resyncClearEmptiesASQLiteTableFirst() throws {
    let scenario = try applied(.sqlite)
    try scenario.crm("insert into contacts values ('stranger@example.com', 'S', 'x')")
    try scenario.sql("delete from users where user_id = 4")
    let requested = try scenario.backflow(["resync", "users_to_crm", "--clear"])
    expectSuccess(requested)
    #expect(requested.stdout.contains("It first empties local/contacts: every record there is deleted"))
    #expect(try scenario.syncRecord().pending?.action == .resyncClear)

    let apply = try scenario.backflow(["apply", "--auto-approve"])
    expectSuccess(apply)
    #expect(apply.stdout.contains("cleared local/contacts before sending every row"))
    #expect(try contacts(scenario).map { $0[0] } == ["ada@example.com", "grace@example.com", "katherine@example.com"])
  }

  @Test func resyncClearEmptiesAPostgreSQLTableFirst() throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let scenario = try Scenario(.sqlite)
    let crm = try scenario.addPostgresCRM()
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: crm_db")
    ])
    try scenario.insert(Self.people)
    try expectSuccess(scenario.backflow(["apply", "--auto-approve"]))
    try crm.connect().execute("insert into contacts values ('stranger@example.com', 'S', 'x')")
    try scenario.sql("delete from users where user_id in (3, 4)")

    try expectSuccess(scenario.backflow(["resync", "users_to_crm", "--clear"]))
    let apply = try scenario.backflow(["apply", "--auto-approve"])
    expectSuccess(apply)
    #expect(apply.stdout.contains("cleared crm_db/contacts before sending every row"))
    #expect(try crm.connect().query("select email from contacts order by email") == [["ada@example.com"], ["grace@example.com"]])
  }

  func httpProject(_ server: ProtocolServer, type: String) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    try scenario.addDestination("api: { type: http, url: \"\(server.url)\" }")
    let sync = """
      model: users
      destination: api
      type: \(type)
      object: members
      match: { email: email }
      mappings:
        - { from: first_name, to: first_name }

      """
    scenario.write(["syncs/users_to_crm.yaml": sync])
    try scenario.insert(Self.people)
    try expectSuccess(scenario.backflow(["apply", "--auto-approve"]))
    return scenario
  }

  @Test func clearIsRefusedForHTTPObjectSyncsWithTheReasonAndAllowedForLists() async throws {
    try await withProtocolServer { server in
      let objects = try httpProject(server, type: "object")
      let refused = try objects.backflow(["resync", "users_to_crm", "--clear"])
      #expect(refused.status == 1)
      #expect(refused.stderr.contains(
        "error: --clear is refused for users_to_crm: destination api is an HTTP destination, and the protocol's `clear` operation empties lists only"))
      #expect(try objects.syncRecord().pending == nil)

      let lists = try httpProject(server, type: "list")
      try expectSuccess(lists.backflow(["resync", "users_to_crm", "--clear"]))
      let before = server.requests.count
      try expectSuccess(lists.backflow(["apply", "--auto-approve"]))
      let operations = server.requests.dropFirst(before).compactMap { request -> String? in
        if case let .string(operation)? = request.body?["operation"] { operation } else { nil }
      }
      #expect(operations == ["clear", "add"])
      #expect(server.records(in: "members").count == 4)
    }
  }

  // MARK: Reset CDC

  @Test(arguments: Backend.allCases)
  func resetCDCRecordsASnapshotAndSendsNothingThenOnlyNewChanges(backend: Backend) throws {
    guard backend.available else { return }
    let scenario = try applied(backend)
    try scenario.sql(
      "update users set plan = 'team' where user_id = 2; insert into users values (5, 'mary@example.com', 'Mary', 'free')")
    let requested = try scenario.backflow(["reset-cdc", "users_to_crm"])
    expectSuccess(requested)
    #expect(requested.stdout.hasPrefix("users_to_crm (#1): CDC reset requested by \(Self.requester) at "))
    #expect(requested.stdout.contains("The next apply sends nothing to local/contacts"))
    let crmBefore = try contacts(scenario)

    let apply = try scenario.backflow(["apply", "--auto-approve"])
    expectSuccess(apply)
    #expect(apply.stdout.contains("CDC reset: 5 rows recorded in the snapshot, none sent"))
    #expect(try contacts(scenario) == crmBefore)
    #expect(try scenario.snapshot().map(\.key) == ["1", "2", "3", "4", "5"] && scenario.syncRecord().pending == nil)

    try scenario.sql("update users set first_name = 'Kate' where user_id = 3")
    let next = try scenario.backflow(["apply", "--auto-approve"])
    expectSuccess(next)
    #expect(next.stdout.contains(" - 0 to add, 1 to change, 0 to remove; 1 succeeded\n"))
    let rows = try contacts(scenario)
    #expect(rows.first { $0[0] == "katherine@example.com" }?[1] == "Kate")
    // Grace's earlier change and Mary were recorded, never sent.
    #expect(rows.first { $0[0] == "grace@example.com" }?[2] == "free" && !rows.contains { $0[0] == "mary@example.com" })
  }

  // MARK: Requests

  @Test func cancelWithdrawsOnlyARequestOfItsOwnKind() throws {
    let scenario = try applied(.sqlite)
    try expectSuccess(scenario.backflow(["resync", "users_to_crm"]))
    let other = try scenario.backflow(["reset-cdc", "users_to_crm", "--cancel"])
    expectSuccess(other)
    #expect(other.stdout.hasPrefix(
      "Nothing to cancel: users_to_crm has no pending CDC reset; its pending request is a full resync requested by \(Self.requester)"))
    #expect(try scenario.syncRecord().pending?.action == .resync)

    let cancelled = try scenario.backflow(["resync", "users_to_crm", "--cancel"])
    expectSuccess(cancelled)
    #expect(cancelled.stdout.hasPrefix("Cancelled the full resync of users_to_crm (#1) requested by \(Self.requester) at "))
    #expect(try scenario.syncRecord().pending == nil)
    let nothing = try scenario.backflow(["resync", "users_to_crm", "--cancel"])
    #expect(nothing.status == 0 && nothing.stdout == "Nothing to cancel: users_to_crm has no pending full resync.\n")

    try expectSuccess(scenario.backflow(["reset-cdc", "users_to_crm"]))
    let reset = try scenario.backflow(["reset-cdc", "users_to_crm", "--cancel"])
    #expect(reset.stdout.hasPrefix("Cancelled the CDC reset of users_to_crm (#1)"))
    #expect(try scenario.backflow(["plan", "--detailed-exitcode"]).status == 0)
    #expect(try scenario.backflow(["resync", "users_to_crm", "--clear", "--cancel"]).status == 64)
  }

  @Test func aSecondRequestReplacesTheFirstAndSaysSo() throws {
    let scenario = try applied(.sqlite)
    try expectSuccess(scenario.backflow(["resync", "users_to_crm", "--clear"]))
    let first = try #require(try scenario.syncRecord().pending)
    let second = try scenario.backflow(["reset-cdc", "users_to_crm"])
    expectSuccess(second)
    #expect(second.stdout.contains("This replaces the full resync with --clear \(first.attributionText)."))
    #expect(try scenario.syncRecord().pending?.action == .resetCDC)
  }

  @Test func planShowsWhoAskedAndWhenInTextMarkdownAndJSON() throws {
    let scenario = try applied(.sqlite)
    try expectSuccess(scenario.backflow(["resync", "users_to_crm"]))
    let pending = try #require(try scenario.syncRecord().pending)

    let text = try scenario.backflow(["plan"])
    expectSuccess(text)
    #expect(text.stdout.contains(
      "    pending: full resync, \(pending.attributionText) (`backflow resync users_to_crm --cancel` withdraws it)\n"))
    #expect(text.stdout.contains("warning: a resync was requested: every row is sent as added without diffing"))

    let markdown = try scenario.backflow(["plan", "--format", "markdown"])
    #expect(markdown.stdout.contains("pending full resync, \(pending.attributionText)"))

    let json = try JSONValue.parse(try scenario.backflow(["plan", "--format", "json"]).stdout)
    guard case let .array(syncs)? = json["syncs"], let sync = syncs.first else {
      Issue.record("the JSON plan has no syncs")
      return
    }
    #expect(sync["pending"] == .string("resync"))
    #expect(sync["requested_by"] == .string(pending.requestedBy) && sync["requested_at"] == .string(pending.requestedAt))

    try expectSuccess(scenario.backflow(["resync", "users_to_crm", "--cancel"]))
    let none = try JSONValue.parse(try scenario.backflow(["plan", "--format", "json"]).stdout)
    if case let .array(syncs)? = none["syncs"] {
      #expect(syncs.first?["requested_by"] == .null && syncs.first?["requested_at"] == .null)
    }
  }

  @Test func aPlanFileMadeBeforeARequestIsRefusedAsStale() throws {
    let scenario = try applied(.sqlite)
    try scenario.sql("update users set plan = 'team' where user_id = 1")
    try expectSuccess(scenario.backflow(["plan", "--out", "tfplan"]))
    try expectSuccess(scenario.backflow(["resync", "users_to_crm"]))
    let stale = try scenario.backflow(["apply", "tfplan"])
    #expect(stale.status == 1)
    #expect(stale.stderr.contains("sync users_to_crm has changed in state since the plan was made"))
    #expect(try contacts(scenario).first?[2] == "pro" && scenario.syncRecord().pending?.action == .resync)
  }

  @Test func aSyncThatIsUnknownOrNotAppliedYetIsRefused() throws {
    let scenario = try Scenario(.sqlite)
    try scenario.insert(Self.people)
    let unapplied = try scenario.backflow(["resync", "users_to_crm"])
    #expect(unapplied.status == 1)
    #expect(unapplied.stderr == """
      error: sync users_to_crm has not been applied yet, so there is nothing to resync: its first apply sends every \
      row as added anyway. Run `backflow apply --select users_to_crm` first

      """)
    #expect(try scenario.backflow(["reset-cdc", "users_to_crm"]).stderr.contains("has not been applied yet"))
    #expect(!FileManager.default.fileExists(atPath: scenario.directory.appendingPathComponent(".backflow").path))
    let unknown = try scenario.backflow(["reset-cdc", "users_to_crn"])
    #expect(unknown.status == 1 && unknown.stderr == "error: no sync named users_to_crn in the project; did you mean \"users_to_crm\"?\n")
  }
}

extension PendingRequest {
  /// `requested by … at …`, as the commands print it.
  var attributionText: String { "requested by \(requestedBy) at \(requestedAt)" }
}
