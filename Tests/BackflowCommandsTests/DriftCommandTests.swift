import BackflowConfig
import BackflowPostgres
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow drift` run as a user runs it, against real SQLite and PostgreSQL destinations after
/// a real apply.
@Suite("backflow drift")
struct DriftCommandTests {
  static let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
    (3, "katherine@example.com", "Katherine", "pro"), (4, "annie@example.com", "Annie", "team"),
  ]

  /// A mirror sync of the four people into a SQLite CRM (`local`) or a PostgreSQL one (`crm_db`),
  /// applied with the executable; the second value runs SQL in that CRM.
  func applied(_ backend: Backend) throws -> (Scenario, (String) throws -> Void) {
    let scenario = try Scenario(backend)
    var crm: (String) throws -> Void = { try scenario.crm($0) }
    var destination = "local"
    if backend == .postgres {
      let database = try scenario.addPostgresCRM()
      crm = { try database.connect().execute($0) }
      destination = "crm_db"
    }
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(
        of: "destination: local\nobject: contacts", with: "destination: \(destination)\nobject: contacts\nmode: mirror")
    ])
    try scenario.insert(Self.people)
    try expectStatus(0, scenario.backflow(["apply", "--auto-approve"]))
    return (scenario, crm)
  }

  func expectStatus(
    _ status: Int32, _ output: BackflowProcess.Output, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    #expect(output.status == status, "\(output.stdout)\(output.stderr)", sourceLocation: sourceLocation)
  }

  static let tampering = """
    update contacts set tier = 'free' where email = 'ada@example.com';
    delete from contacts where email = 'grace@example.com';
    insert into contacts values ('stranger@example.com', 'Stranger', 'pro');
    """

  @Test(arguments: Backend.allCases)
  func dataDriftExitsTwoAndNamesEachRecord(backend: Backend) throws {
    guard backend.available else { return }
    let (scenario, crm) = try applied(backend)
    let clean = try scenario.backflow(["drift"])
    expectStatus(0, clean)
    #expect(clean.stdout.contains("data \(backend == .postgres ? "crm_db" : "local")/contacts: no drift (4 compared)"))
    #expect(clean.stdout.contains("No drift: the destinations hold what Backflow last wrote"))

    try crm(Self.tampering)
    let drift = try scenario.backflow(["drift"])
    expectStatus(2, drift)
    let name = backend == .postgres ? "crm_db" : "local"
    #expect(drift.stdout.contains("data \(name)/contacts: 1 record differs, 1 missing, 1 should not be there (4 compared)"))
    #expect(drift.stdout.contains("~ ada@example.com (key 1): tier: \(name) has \"free\", Backflow wrote \"pro\""))
    #expect(drift.stdout.contains("- grace@example.com (key 2): missing"))
    #expect(drift.stdout.contains("+ stranger@example.com: no model row has it"))
    #expect(drift.stdout.contains("Drift: config: none; records: 1 differ, 1 missing, 1 should not be there."))
    // The CRM's URL came from the environment: it is a secret.
    if let url = scenario.environment["CRM_DB_URL"] { #expect(!drift.stdout.contains(url) && !drift.stderr.contains(url)) }
  }

  @Test func aPendingModelChangeIsNotDrift() throws {
    let (scenario, crm) = try applied(.sqlite)
    try scenario.sql("update users set plan = 'team' where user_id = 3")
    try crm("update contacts set tier = 'edited' where email = 'katherine@example.com'")
    let output = try scenario.backflow(["drift"])
    expectStatus(0, output)
    #expect(output.stdout.contains("no drift (3 compared, 1 pending change not compared; `backflow plan` shows it)"))
  }

  @Test(arguments: Backend.allCases)
  func repairThenApplyFixesTheDestination(backend: Backend) throws {
    guard backend.available else { return }
    let (scenario, crm) = try applied(backend)
    try crm(Self.tampering)
    let repair = try scenario.backflow(["drift", "--repair"])
    expectStatus(2, repair)
    #expect(repair.stdout.contains(
      "Repair: users_to_crm: dropped 2 snapshot rows of the drifted records; the next apply sends them again"))
    #expect(repair.stdout.contains("Repair: users_to_crm: 1 record that should not be there is left as it is"))
    #expect(try scenario.snapshot().map(\.key) == ["3", "4"])
    let plan = try scenario.backflow(["plan", "--show-rows", "5"])
    #expect(plan.stdout.contains("+ 2 to add, ~ 0 to change, - 0 to remove"))

    expectStatus(0, try scenario.backflow(["apply", "--auto-approve"]))
    // The stranger is still there: repair leaves extras to the user.
    try crm("delete from contacts where email = 'stranger@example.com'")
    let after = try scenario.backflow(["drift"])
    expectStatus(0, after)
  }

  @Test func jsonReportsConfigAndDataPerSync() throws {
    let (scenario, crm) = try applied(.sqlite)
    try crm(Self.tampering)
    scenario.write(["syncs/newcomer.yaml": Scenario.sync])
    let output = try scenario.backflow(["drift", "--format", "json"])
    expectStatus(2, output)
    let json = try JSONValue.parse(output.stdout)
    #expect(json["format_version"] == .int(1) && json["drift"] == .bool(true) && json["errors"] == .bool(false))
    guard case let .array(syncs)? = json["syncs"], syncs.count == 2 else { throw ScenarioError("no syncs: \(output.stdout)") }
    #expect(syncs[0]["name"] == .string("newcomer") && syncs[0]["config"]?["status"] == .string("never_applied"))
    #expect(syncs[0]["data"]?["status"] == .string("not_checked") && syncs[0]["id"] == .null)
    let sync = syncs[1]
    #expect(sync["name"] == .string("users_to_crm") && sync["id"] == .int(1) && sync["drift"] == .bool(true))
    #expect(sync["config"]?["status"] == .string("in_sync") && sync["config"]?["changes"] == .array([]))
    let data = try #require(sync["data"])
    #expect(data["status"] == .string("checked") && data["destination"] == .string("local/contacts"))
    #expect(data["compared"] == .int(4) && data["differing"] == .int(1) && data["missing"] == .int(1))
    #expect(data["extra"] == .int(1) && data["pending"] == .int(0))
    #expect(
      data["samples"]?["differing"]
        == .array([
          .object([
            ("key", .string("1")), ("match", .string("ada@example.com")),
            ("fields", .array([.object([("field", .string("tier")), ("destination", .string("free")), ("written", .string("pro"))])])),
          ])
        ]))
    #expect(data["samples"]?["missing"] == .array([.object([("key", .string("2")), ("match", .string("grace@example.com"))])]))
    #expect(data["samples"]?["extra"] == .array([.string("stranger@example.com")]))
  }

  @Test func markdownIsACommentWithTheCountsFirst() throws {
    let (scenario, crm) = try applied(.sqlite)
    try crm(Self.tampering)
    let output = try scenario.backflow(["drift", "--format", "markdown"])
    expectStatus(2, output)
    let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines.prefix(3) == ["### Backflow drift", "", "**1 sync** · **1** drifted"])
    #expect(lines.contains("| `users_to_crm` #1 | as applied | **1 record differs, 1 missing, 1 should not be there** |  |"))
    #expect(lines.contains("<details><summary><code>users_to_crm</code></summary>"))
    #expect(lines.contains("- ~ `ada@example.com`: `tier`: destination has `free`, Backflow wrote `pro`"))
    #expect(lines.contains("- − `grace@example.com`: missing") && lines.contains("- \\+ `stranger@example.com`: should not be there"))
  }

  @Test func configDriftListsChangedOrphanedAndNeverAppliedSyncs() throws {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/second.yaml": Scenario.sync])
    try scenario.insert(Self.people)
    try expectStatus(0, scenario.backflow(["apply", "--auto-approve"]))
    try scenario.remove("syncs/second.yaml")
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "{ from: plan, to: tier }", with: "{ value: pro, to: tier }"),
      "syncs/third.yaml": Scenario.sync,
    ])
    let output = try scenario.backflow(["drift", "--config-only"])
    expectStatus(2, output)
    #expect(output.stdout.contains("+ third never applied: the next apply creates it"))
    #expect(output.stdout.contains("~ users_to_crm #2 config differs from the config applied at "))
    #expect(output.stdout.contains("    + mappings[1].value: \"pro\"\n    - mappings[1].from: \"plan\"\n"))
    #expect(output.stdout.contains("- second #1 applied at "))
    #expect(output.stdout.contains("but gone from the repository: the next apply retires it"))
    #expect(output.stdout.contains("Drift: config: 1 changed, 1 never applied, 1 gone from the repository; records: not checked."))
    // --config-only reads no destination.
    #expect(!output.stdout.contains("data local/contacts"))

    let selected = try scenario.backflow(["drift", "--config-only", "--select", "second"])
    expectStatus(2, selected)
    #expect(!selected.stdout.contains("third") && selected.stdout.contains("- second #1"))
    let unknown = try scenario.backflow(["drift", "--select", "nope"])
    expectStatus(1, unknown)
  }

  @Test func anUnreachableDestinationExitsOne() throws {
    let (scenario, _) = try applied(.sqlite)
    try scenario.crm("drop table contacts")
    let output = try scenario.backflow(["drift"])
    expectStatus(1, output)
    #expect(output.stdout.contains("data local/contacts: error: table contacts does not exist"))
    let repair = try scenario.backflow(["drift", "--repair"])
    expectStatus(1, repair)
    #expect(repair.stderr.contains("nothing was repaired"))
  }

  @Test func anHTTPDestinationIsReadWithItsHeadersWhoseSecretsNeverShow() async throws {
    let token = "s3cr3t-token-4711"
    try await withProtocolServer { server in
      let scenario = try Scenario(.sqlite)
      scenario.environment["CRM_TOKEN"] = token
      try scenario.addDestination(
        "api: { type: http, url: \"\(server.url)\", headers: { Authorization: \"Bearer ${CRM_TOKEN}\" }, "
          + "readable: true, retries: 0 }")
      scenario.write([
        "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: api")
      ])
      try scenario.insert(Self.people)
      expectStatus(0, try scenario.backflow(["apply", "--auto-approve"]))
      let clean = try scenario.backflow(["drift"])
      expectStatus(0, clean)
      #expect(clean.stdout.contains("data api/contacts: no drift (4 compared)"))

      try server.alter("ada@example.com", in: "contacts", fields: [("tier", .string("free"))])
      let drift = try scenario.backflow(["drift"])
      expectStatus(2, drift)
      #expect(drift.stdout.contains("~ ada@example.com (key 1): tier: api has \"free\", Backflow wrote \"pro\""))
      let reads = server.requests.filter { $0.path == "/contacts/read" }
      #expect(reads.count == 2 && reads.allSatisfy { $0.header("Authorization") == "Bearer \(token)" })

      // A server that echoes the credential in its error: the message shows it redacted.
      server.inject(.badRequest("invalid token Bearer \(token)"))
      let failed = try scenario.backflow(["drift", "--format", "json"])
      expectStatus(1, failed)
      #expect(failed.stdout.contains("POST /contacts/read: HTTP 400: invalid token [redacted]"))
      for output in [clean, drift, failed] {
        #expect(!output.stdout.contains(token) && !output.stderr.contains(token))
        #expect(!output.stdout.contains(server.url) && !output.stderr.contains(server.url))
      }
    }
  }
}
