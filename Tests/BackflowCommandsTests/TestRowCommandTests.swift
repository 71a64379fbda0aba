import BackflowConfig
import BackflowPostgres
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow test` run as a user runs it: what it prints, what reaches the destination, and
/// that state does not move.
@Suite("backflow test")
struct TestRowCommandTests {
  static let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
  ]
  static let token = "sekret-token-6c1f"

  func scenario(destination: String = "local") throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: \(destination)")
        + "on_delete: delete\n"
    ])
    try scenario.insert(Self.people)
    return scenario
  }

  func apply(_ scenario: Scenario) throws {
    let output = try scenario.backflow(["apply", "--auto-approve"])
    #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
  }

  /// The sync's snapshot and run IDs, to compare before and after a test.
  func stateOf(_ scenario: Scenario) throws -> ([SnapshotEntry], [Int]) {
    (try scenario.snapshot(), try scenario.openState().runs().map(\.id))
  }

  @Test func aRowIsSentToSQLiteWithItsStatementAndStateDoesNotMove() throws {
    let scenario = try scenario()
    try apply(scenario)
    let before = try stateOf(scenario)
    let output = try scenario.backflow(["test", "users_to_crm", "--row", "1", "--set", "plan=team"])
    #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
    #expect(output.stdout.hasPrefix(
      """
      Testing users_to_crm (#1): row user_id = 1 of model users, as added → upsert to local/contacts
        row: {"user_id":1,"email":"ada@example.com","first_name":"Ada","plan":"team"}
        set: plan = "team"
        record: key "ada@example.com"; first_name = "Ada", tier = "team"

      → BEGIN IMMEDIATE
      → INSERT INTO "main"."contacts" ("email", "first_name", "tier") VALUES (?1, ?2, ?3) ON CONFLICT ("email") \
      DO UPDATE SET "first_name" = excluded."first_name", "tier" = excluded."tier"
        ?1 = 'ada@example.com', ?2 = 'Ada', ?3 = 'team'
      ← 1 row changed
      → COMMIT

      Succeeded: local/contacts accepted the record.
      State is unchanged: the snapshot did not move and no run was recorded.
      The snapshot still holds the row as last sent
      """))
    #expect(try scenario.crmRows("select tier from contacts where email = 'ada@example.com'") == [["team"]])
    let after = try stateOf(scenario)
    #expect(after.0 == before.0 && after.1 == before.1)
  }

  @Test func aRefusedRowExitsOneWithTheDatabasesReason() throws {
    let scenario = try scenario()
    try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
    let output = try scenario.backflow(["test", "users_to_crm", "--row", "2", "--as", "changed", "--set", "plan=banned"])
    #expect(output.status == 1)
    #expect(output.stdout.contains("← error: CHECK constraint failed: tier <> 'banned'\n"))
    #expect(output.stdout.contains("\nFailed: CHECK constraint failed: tier <> 'banned'\n"))
    #expect(try scenario.crmRows("select count(*) from contacts") == [["0"]])
  }

  @Test func aMissingKeyOrColumnIsAClearErrorAndNothingIsSent() throws {
    let scenario = try scenario()
    let missing = try scenario.backflow(["test", "users_to_crm", "--row", "9"])
    #expect(missing.status == 1 && missing.stdout.isEmpty)
    #expect(missing.stderr == "error: model users has no row with user_id = 9 (keys compare as text, as `backflow plan --show-rows` lists them)\n")
    let column = try scenario.backflow(["test", "users_to_crm", "--row", "1", "--set", "tire=x"])
    #expect(column.status == 1 && column.stderr.contains("--set tire: model users has no column tire"))
    #expect(try scenario.backflow(["test", "users_to_crm", "--row", "1", "--set", "plan"]).status == 64)
    #expect(try scenario.crmRows("select count(*) from contacts") == [["0"]])
  }

  @Test func aMappingValueFromTheEnvironmentIsSentButNeverPrinted() throws {
    let scenario = try scenario()
    scenario.environment["CRM_TAG"] = "vip-7f3a9c"
    scenario.write([
      "syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(
        of: "{ from: plan, to: tier }", with: "{ value: \"${CRM_TAG}\", to: tier }")
    ])
    let output = try scenario.backflow(["test", "users_to_crm", "--row", "1"])
    #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
    #expect(!output.stdout.contains("vip-7f3a9c") && !output.stderr.contains("vip-7f3a9c"))
    #expect(output.stdout.contains("  record: key \"ada@example.com\"; first_name = \"Ada\", tier = \"[redacted]\"\n"))
    #expect(output.stdout.contains("  ?1 = 'ada@example.com', ?2 = 'Ada', ?3 = '[redacted]'\n"))
    #expect(try scenario.crmRows("select tier from contacts") == [["vip-7f3a9c"]])
  }

  func httpScenario(_ server: ProtocolServer) throws -> Scenario {
    let scenario = try scenario(destination: "api")
    scenario.environment["CRM_TOKEN"] = Self.token
    try scenario.addDestination(
      "api: { type: http, url: \"\(server.url)\", headers: { Authorization: \"Bearer ${CRM_TOKEN}\" } }")
    return scenario
  }

  @Test func theHTTPRequestAndResponseArePrintedAsTheServerSawThemWithoutSecrets() async throws {
    try await withProtocolServer { server in
      let scenario = try httpScenario(server)
      try apply(scenario)
      let before = try stateOf(scenario)
      let sent = server.requests.count
      let output = try scenario.backflow(["test", "users_to_crm", "--row", "2", "--as", "removed"])
      #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
      #expect(server.requests.count == sent + 1)
      let received = try #require(server.requests.last)
      #expect(received.body?["operation"] == .string("delete"))
      #expect(received.body?["records"] == .array([.object([("key", .string("grace@example.com"))])]))
      #expect(output.stdout.contains("\n→ POST \(server.url)/contacts\n"))
      #expect(output.stdout.contains("\n  Idempotency-Key: \(received.header("Idempotency-Key") ?? "?")\n"))
      #expect(received.header("Idempotency-Key")?.hasPrefix("1-0-") == true)
      #expect(output.stdout.contains("\n  Authorization: [redacted]\n"))
      #expect(output.stdout.contains("\n\n  \(received.text)\n← 200 OK\n  {\"results\":[]}\n"))
      #expect(!output.stdout.contains(Self.token) && !output.stderr.contains(Self.token))
      #expect(server.record("grace@example.com", in: "contacts") == nil)
      let after = try stateOf(scenario)
      #expect(after.0 == before.0 && after.1 == before.1)
    }
  }

  @Test func aDryRunPrintsTheRequestAndSendsNothing() async throws {
    try await withProtocolServer { server in
      let scenario = try httpScenario(server)
      let output = try scenario.backflow(["test", "users_to_crm", "--row", "1", "--dry-run"])
      #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
      #expect(server.requests.isEmpty)
      #expect(output.stdout.contains("Testing users_to_crm (not applied yet: sync_id 0)"))
      #expect(output.stdout.contains(#""sync_id":0,"run_id":0,"operation":"upsert""#))
      #expect(output.stdout.hasSuffix(
        "Dry run: nothing was sent to api/contacts. State is unchanged: the snapshot did not move and no run was recorded.\n"))
      #expect(!FileManager.default.fileExists(atPath: scenario.directory.appendingPathComponent(".backflow").path))
    }
  }

  @Test func aRowIsWrittenToAFileAndTheLinePrinted() throws {
    let scenario = try scenario(destination: "exports")
    try scenario.addDestination("exports: { type: file, dir: out }")
    let output = try scenario.backflow(["test", "users_to_crm", "--row", "2"])
    #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
    let line = #"{"email":"grace@example.com","first_name":"Grace","tier":"free"}"#
    #expect(output.stdout.contains("out/contacts.jsonl\n  \(line)\n"))
    #expect(output.stdout.contains(": 1 record\n"))
    let file = scenario.directory.appendingPathComponent("out/contacts.jsonl")
    #expect(try String(contentsOf: file, encoding: .utf8) == line + "\n")
  }

  @Test func aRowIsSentToPostgreSQLWithTheCopyAndTheMerge() throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let scenario = try scenario(destination: "crm_db")
    let crm = try scenario.addPostgresCRM()
    let output = try scenario.backflow(["test", "users_to_crm", "--row", "1"])
    #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
    #expect(output.stdout.contains(
      """
      → BEGIN
      → COPY pg_temp.backflow_batch ("backflow ordinal", "email", "first_name", "tier") FROM STDIN
        row: '0', 'ada@example.com', 'Ada', 'pro'
      ← 1 row copied
      → INSERT INTO "public"."contacts" AS t
      """))
    #expect(output.stdout.contains("← 1 row inserted\n→ COMMIT\n"))
    #expect(try crm.connect().query("select email, tier from contacts") == [["ada@example.com", "pro"]])
  }
}
