import BackflowConfig
import BackflowDestinations
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow test` through the library: one row through the sync's mapping and a real
/// destination of each type, every step traced, state untouched.
@Suite("test a row")
struct RowTestTests {
  static let people: [(Int?, String, String, String)] = [
    (1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"),
  ]

  /// Collects trace events from the connector's threads.
  final class Events: @unchecked Sendable {
    // @unchecked: `list` is only touched under `lock`.
    private let lock = NSLock()
    private var list: [DestinationTraceEvent] = []

    var all: [DestinationTraceEvent] { lock.withLock { list } }

    func record(_ event: DestinationTraceEvent) {
      lock.withLock { list.append(event) }
    }

    var statements: [String] {
      all.compactMap { if case let .statement(sql, _) = $0 { sql } else { nil } }
    }

    var results: [String] {
      all.compactMap { if case let .result(text) = $0 { text } else { nil } }
    }
  }

  /// Prepares and sends `test` in `scenario`, collecting its trace.
  func run(_ scenario: Scenario, _ test: RowTest, dryRun: Bool = false) async throws
    -> (PreparedRowTest, RowTestOutcome, Events)
  {
    let tester = RowTester(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState())
    let prepared = try tester.prepare(test)
    let events = Events()
    let outcome = await tester.send(prepared, dryRun: dryRun) { events.record($0) }
    return (prepared, outcome, events)
  }

  func sqliteScenario(onDelete: String = "nothing", applied: Bool = true) async throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync + "on_delete: \(onDelete)\n"])
    try scenario.insert(Self.people)
    if applied { try await scenario.apply() }
    return scenario
  }

  // MARK: SQLite

  @Test func aRowGoesToSQLiteThroughApplysStatementAndStateDoesNotMove() async throws {
    let scenario = try await sqliteScenario()
    try scenario.crm("update contacts set tier = 'stale' where email = 'ada@example.com'")
    let snapshot = try scenario.snapshot()
    let runs = try scenario.openState().runs()

    let (prepared, outcome, events) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"))
    #expect(outcome == .succeeded)
    #expect(prepared.syncID == 1 && prepared.operation == .upsert)
    #expect(prepared.record == DestinationRecord(key: .string("ada@example.com"), values: [.string("Ada"), .string("pro")]))
    #expect(events.statements.first == "BEGIN IMMEDIATE" && events.statements.last == "COMMIT")
    let insert = try #require(events.all.first { if case let .statement(sql, _) = $0 { sql.hasPrefix("INSERT") } else { false } })
    #expect(insert == .statement(
      sql: #"INSERT INTO "main"."contacts" ("email", "first_name", "tier") VALUES (?1, ?2, ?3) ON CONFLICT ("email") DO UPDATE SET "first_name" = excluded."first_name", "tier" = excluded."tier""#,
      parameters: ["'ada@example.com'", "'Ada'", "'pro'"]))
    #expect(events.results == ["1 row changed"])
    #expect(try scenario.crmRows("select tier from contacts where email = 'ada@example.com'") == [["pro"]])
    #expect(try scenario.snapshot() == snapshot && scenario.openState().runs().map(\.id) == runs.map(\.id))
  }

  @Test func overridesAreTypedAndTheDatabasesRefusalIsTheReason() async throws {
    let scenario = try await sqliteScenario()
    try scenario.crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text check (tier <> 'banned'))")
    let (prepared, outcome, events) = try await run(
      scenario,
      RowTest(
        sync: "users_to_crm", key: "2", operation: .changed,
        overrides: [RowTest.Override(column: "plan", value: .string("banned")), .init(column: "first_name", value: .int(7))]))
    #expect(prepared.row == .object([
      ("user_id", .int(2)), ("email", .string("grace@example.com")), ("first_name", .int(7)), ("plan", .string("banned")),
    ]))
    #expect(outcome == .failed("CHECK constraint failed: tier <> 'banned'"))
    #expect(events.results == ["error: CHECK constraint failed: tier <> 'banned'"])
    #expect(events.all.contains(.statement(sql: events.statements[1], parameters: ["'grace@example.com'", "7", "'banned'"])))
    #expect(try scenario.crmRows("select count(*) from contacts") == [["0"]])
  }

  @Test func aDryRunReportsTheStatementAndWritesNothing() async throws {
    let scenario = try await sqliteScenario(onDelete: "delete")
    let (prepared, outcome, events) = try await run(
      scenario, RowTest(sync: "users_to_crm", key: "2", operation: .removed), dryRun: true)
    #expect(prepared.operation == .delete && outcome == .dryRun)
    #expect(events.all == [
      .statement(sql: #"DELETE FROM "main"."contacts" WHERE "email" = ?1"#, parameters: ["'grace@example.com'"]),
      .result("not run (dry run)"),
    ])
    #expect(try scenario.crmRows("select count(*) from contacts") == [["2"]])
  }

  @Test func removedAndChangedRowsBecomeWhatTheSyncsModeAndOnDeleteSay() async throws {
    let deleting = try await sqliteScenario(onDelete: "delete")
    let (_, deleted, _) = try await run(deleting, RowTest(sync: "users_to_crm", key: "2", operation: .removed))
    #expect(deleted == .succeeded)
    #expect(try deleting.crmRows("select email from contacts") == [["ada@example.com"]])

    let clearing = try await sqliteScenario(onDelete: "clear")
    let (cleared, outcome, _) = try await run(clearing, RowTest(sync: "users_to_crm", key: "2", operation: .removed))
    #expect(cleared.operation == .clearFields && outcome == .succeeded)
    #expect(try clearing.crmRows("select email, first_name, tier from contacts order by email") == [
      ["ada@example.com", "Ada", "pro"], ["grace@example.com", nil, nil],
    ])

    let keeping = try await sqliteScenario(onDelete: "nothing")
    let (kept, notSent, events) = try await run(keeping, RowTest(sync: "users_to_crm", key: "2", operation: .removed))
    #expect(kept.operation == nil && events.all.isEmpty)
    #expect(notSent == .notSent("on_delete is nothing: a removed row leaves its destination record as it is, and nothing is sent"))

    let inserting = try Scenario(.sqlite)
    inserting.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: local
        object: contacts
        mode: insert
        mappings:
          - { from: email, to: email }
          - { from: plan, to: tier }

        """
    ])
    try inserting.insert(Self.people)
    let (_, ignored, _) = try await run(inserting, RowTest(sync: "users_to_crm", key: "1", operation: .changed))
    #expect(ignored == .notSent("insert mode only creates records: a changed row sends nothing"))
    let (added, inserted, _) = try await run(inserting, RowTest(sync: "users_to_crm", key: "1"))
    // Never applied: tests run with sync ID 0.
    #expect(added.syncID == 0 && added.operation == .insert && inserted == .succeeded)
    #expect(try inserting.crmRows("select email, tier from contacts") == [["ada@example.com", "pro"]])
  }

  @Test func aMissingKeyADuplicateKeyAndAnUnknownColumnAreClearErrors() async throws {
    let scenario = try await sqliteScenario(applied: false)
    try scenario.insert([(2, "twin@example.com", "Twin", "pro")])
    let tester = RowTester(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState())
    #expect(throws: RowTestError(
      "model users has no row with user_id = 9 (keys compare as text, as `backflow plan --show-rows` lists them)")
    ) { try tester.prepare(RowTest(sync: "users_to_crm", key: "9")) }
    #expect(throws: RowTestError(
      "model users has more than one row with user_id = 2: a duplicate primary key fails at apply (\"duplicate primary key\") and never reaches the destination")
    ) { try tester.prepare(RowTest(sync: "users_to_crm", key: "2")) }
    #expect(throws: RowTestError(
      "--set plna: model users has no column plna (did you mean plan?); its columns are user_id, email, first_name, plan")
    ) { try tester.prepare(RowTest(sync: "users_to_crm", key: "1", overrides: [.init(column: "plna", value: .null)])) }
    #expect(throws: RowTestError("no sync named users_to_crn in the project; did you mean \"users_to_crm\"?")) {
      try tester.prepare(RowTest(sync: "users_to_crn", key: "1"))
    }
  }

  @Test(arguments: [
    ("plan=42", RowTest.Override(column: "plan", value: .int(42))),
    ("plan=pro", .init(column: "plan", value: .string("pro"))),
    ("plan=null", .init(column: "plan", value: .null)),
    (#"plan="42""#, .init(column: "plan", value: .string("42"))),
    ("plan=", .init(column: "plan", value: .string(""))),
    ("plan=a=b", .init(column: "plan", value: .string("a=b"))),
    ("plan=true", .init(column: "plan", value: .bool(true))),
  ])
  func setValuesAreJSONLiteralsOrElseText(text: String, expected: RowTest.Override) {
    #expect(RowTest.Override(parsing: text) == expected)
  }

  @Test func setWithoutAColumnIsRefused() {
    #expect(RowTest.Override(parsing: "=x") == nil && RowTest.Override(parsing: "plan") == nil)
  }

  // MARK: PostgreSQL

  @Test func aRowGoesToPostgreSQLWithTheCopyTheMergeAndWhatItChanged() async throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let scenario = try await sqliteScenario(onDelete: "delete", applied: false)
    let crm = try scenario.addPostgresCRM()
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: crm_db") + "on_delete: delete\n"])
    try await scenario.apply()
    try crm.connect().execute("update contacts set tier = 'stale'")

    let (_, updated, events) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"))
    #expect(updated == .succeeded)
    #expect(events.statements == [
      "BEGIN",
      #"INSERT INTO "public"."contacts" AS t ("email", "first_name", "tier") SELECT "email", "first_name", "tier" FROM pg_temp.backflow_batch ORDER BY "backflow ordinal" ON CONFLICT ("email") DO UPDATE SET "first_name" = excluded."first_name", "tier" = excluded."tier""#,
      "COMMIT",
    ])
    #expect(events.all.contains(.copy(
      sql: #"COPY pg_temp.backflow_batch ("backflow ordinal", "email", "first_name", "tier") FROM STDIN"#,
      rows: [["'0'", "'ada@example.com'", "'Ada'", "'pro'"]])))
    #expect(events.results == ["1 row copied", "1 row updated"])
    #expect(try crm.connect().query("select tier from contacts order by email") == [["pro"], ["stale"]])

    try crm.connect().execute("delete from contacts where email = 'ada@example.com'")
    let (_, _, inserted) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1", overrides: [.init(column: "plan", value: .string("team"))]))
    #expect(inserted.results == ["1 row copied", "1 row inserted"])

    let (_, _, deleted) = try await run(scenario, RowTest(sync: "users_to_crm", key: "2", operation: .removed))
    #expect(deleted.results == ["1 row copied", "1 row deleted"])
    #expect(try crm.connect().query("select email, tier from contacts") == [["ada@example.com", "team"]])

    try crm.connect().execute("alter table contacts add constraint no_free check (tier <> 'free')")
    let (_, refused, failing) = try await run(scenario, RowTest(sync: "users_to_crm", key: "2"))
    guard case let .failed(reason) = refused else { Issue.record("expected a failure, got \(refused)"); return }
    #expect(reason.contains("no_free") && failing.results.last == "error: \(reason)")
    #expect(failing.statements.last == "ROLLBACK")

    let (_, dry, dryEvents) = try await run(scenario, RowTest(sync: "users_to_crm", key: "2", operation: .removed), dryRun: true)
    #expect(dry == .dryRun && !dryEvents.statements.contains("BEGIN") && dryEvents.results == ["not run (dry run)", "not run (dry run)"])
    #expect(try scenario.snapshot().count == 2 && scenario.openState().runs().count == 1)
  }

  // MARK: HTTP

  func httpScenario(_ server: ProtocolServer, retries: Int = 2) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.environment["CRM_TOKEN"] = "sekret-token-6c1f"
    try scenario.addDestination(
      "api: { type: http, url: \"\(server.url)\", retries: \(retries), headers: { Authorization: \"Bearer ${CRM_TOKEN}\", X-Team: growth } }")
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: api")])
    try scenario.insert(Self.people)
    return scenario
  }

  @Test func aRowGoesToTheHTTPServerAsTracedWithSecretsRedacted() async throws {
    try await withProtocolServer(deduplicating: true) { server in
      let scenario = try httpScenario(server)
      let (_, outcome, events) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"))
      #expect(outcome == .succeeded)
      #expect(server.requests.count == 1)
      let received = try #require(server.requests.first)
      guard case let .request(method, url, headers, body, attempt)? = events.all.first else {
        Issue.record("the trace does not start with the request: \(events.all)")
        return
      }
      #expect(method == "POST" && url == "\(server.url)/contacts" && attempt == 1)
      #expect(body == received.text)
      #expect(received.body == .object([
        ("sync", .string("users_to_crm")), ("sync_id", .int(0)), ("run_id", .int(0)), ("operation", .string("upsert")),
        ("match_field", .string("email")),
        ("records", .array([.object([("key", .string("ada@example.com")), ("fields", .object([("first_name", .string("Ada")), ("tier", .string("pro"))]))])])),
      ]))
      let traced = Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
      #expect(traced["Authorization"] == "[redacted]" && received.header("Authorization") == "Bearer sekret-token-6c1f")
      #expect(traced["X-Team"] == "growth" && traced["Idempotency-Key"] == received.header("Idempotency-Key"))
      #expect(received.header("Idempotency-Key")?.hasPrefix("0-0-") == true)
      #expect(events.all.dropFirst().first == .response(status: 200, reason: "OK", body: #"{"results":[]}"#))
      #expect(server.record("ada@example.com", in: "contacts")?.fields == .object([("first_name", .string("Ada")), ("tier", .string("pro"))]))

      // A second test of the same row is not swallowed by the server's deduplication.
      server.reject("ada@example.com", reason: "mailbox is closed")
      let (_, second, _) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"))
      #expect(second == .failed("mailbox is closed") && server.replays == 0)
      #expect(Set(server.requests.compactMap { $0.header("Idempotency-Key") }).count == 2)
    }
  }

  @Test func retriesAreTracedAttemptByAttempt() async throws {
    try await withProtocolServer { server in
      let scenario = try httpScenario(server)
      try await scenario.apply()
      server.inject(.tooManyRequests(retryAfter: "0"))
      let (_, outcome, events) = try await run(scenario, RowTest(sync: "users_to_crm", key: "2", operation: .changed))
      #expect(outcome == .succeeded && server.requests.count == 3)
      let steps = events.all.map { event -> String in
        switch event {
        case let .request(_, _, _, _, attempt): "request \(attempt)"
        case let .response(status, _, _): "response \(status)"
        case .retrying: "retrying"
        default: "other"
        }
      }
      #expect(steps == ["request 1", "response 429", "retrying", "request 2", "response 200"])
      // Applied: the sync's ID, run 0.
      #expect(server.requests.last?.header("Idempotency-Key")?.hasPrefix("1-0-") == true)
    }
  }

  @Test func aDryRunSendsNothingToTheServer() async throws {
    try await withProtocolServer { server in
      let scenario = try httpScenario(server)
      let (_, outcome, events) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"), dryRun: true)
      #expect(outcome == .dryRun && server.requests.isEmpty)
      guard case let .request(_, _, _, body, _)? = events.all.first, events.all.count == 1 else {
        Issue.record("expected one request in the trace: \(events.all)")
        return
      }
      #expect(body.contains(#""operation":"upsert""#))
    }
  }

  // MARK: Files

  @Test(arguments: ["jsonl", "csv"])
  func aRowIsWrittenToTheFileAsTheTracedLine(format: String) async throws {
    let scenario = try Scenario(.sqlite)
    try scenario.addDestination("exports: { type: file, dir: out, format: \(format) }")
    scenario.write(["syncs/users_to_crm.yaml": Scenario.sync.replacingOccurrences(of: "destination: local", with: "destination: exports")])
    try scenario.insert(Self.people)
    let file = scenario.directory.appendingPathComponent("out/contacts.\(format)")

    let (_, dry, dryEvents) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"), dryRun: true)
    #expect(dry == .dryRun && !FileManager.default.fileExists(atPath: file.path))
    #expect(dryEvents.results == ["\(file.path) is not written (dry run)"])

    let (_, outcome, events) = try await run(scenario, RowTest(sync: "users_to_crm", key: "1"))
    #expect(outcome == .succeeded)
    let line = format == "csv" ? "ada@example.com,Ada,pro" : #"{"email":"ada@example.com","first_name":"Ada","tier":"pro"}"#
    #expect(events.all == [.line(file: file.path, text: line), .result("wrote \(file.path): 1 record")])
    let written = try String(contentsOf: file, encoding: .utf8)
    #expect(written == (format == "csv" ? "email,first_name,tier\n" : "") + line + "\n")
  }
}
