import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// A rest destination's own record ids and reading back (docs/rest.md, "Kept ids" and "Reading
/// back"): ids kept per row and sent as `record.destination_id`, looked up with `read:` when none
/// is kept, drift through `read:`, and mirror's first-run sweep through `list:` with each way of
/// paging. Real applies against local servers on 127.0.0.1.
@Suite("REST ids and reading back")
struct RESTReadBackTests {
  let presets = RESTPresetTests()

  /// The HubSpot preset against `server`, its state in `state`; without its `read:` request when
  /// `read` is false.
  func hubspot(_ server: ProtocolServer, read: Bool = true, state: Backend = .sqlite) throws -> Scenario {
    let scenario = try presets.preset("hubspot_contacts", server: server, users: RESTPresetTests.users)
    if state == .postgres {
      let file = scenario.directory.appendingPathComponent("backflow.yaml")
      let text = try String(contentsOf: file, encoding: .utf8)
      let url = try PostgresDatabase.create("restids").url
      scenario.write(["backflow.yaml": text.replacingOccurrences(of: "version: 1\n", with: "version: 1\nstate: \(url)\n")])
    }
    if !read {
      let file = scenario.directory.appendingPathComponent("syncs/hubspot_contacts.yaml")
      let text = try String(contentsOf: file, encoding: .utf8)
      let withoutRead = try #require(text.range(of: "  read:")).lowerBound
      scenario.write(["syncs/hubspot_contacts.yaml": String(text[..<withoutRead])])
    }
    return scenario
  }

  /// `backflow reset-cdc`: the next run records the rows and sends nothing; their ids are gone.
  func resetCDC(_ scenario: Scenario, _ name: String = "hubspot_contacts") async throws {
    let id = try scenario.syncRecord(name).id
    try scenario.openState(writing: true).setPending(
      PendingRequest(action: .resetCDC, requestedBy: "test", requestedAt: "now"), syncID: id)
    try await scenario.apply()
    #expect(try scenario.snapshot(name).allSatisfy { $0.destinationID == nil })
  }

  func archives(_ server: ProtocolServer) -> [JSONValue?] {
    server.requests.filter { $0.path.hasSuffix("/batch/archive") }.map(\.body)
  }

  // MARK: Kept ids

  @Test func aRowWithNoKeptIDIsLookedUpWithRead() async throws {
    let api = RESTPresetTests.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try hubspot(server)
      try await scenario.apply()
      try await resetCDC(scenario)
      try scenario.sql("delete from users where user_id = 2")
      let removal = try await scenario.apply().run("hubspot_contacts")
      #expect(removal.succeeded == OperationCounts(remove: 1) && api.current.contacts.keys.sorted() == ["ada@example.com"])
      // Looked up by email first, then archived by the id HubSpot answered.
      let paths = server.requests.suffix(2).map(\.path)
      #expect(paths == ["/crm/v3/objects/contacts/batch/read", "/crm/v3/objects/contacts/batch/archive"])
      let read = try #require(server.requests.last { $0.path.hasSuffix("/batch/read") })
      #expect(read.body?["inputs"] == .array([.object([("id", .string("Grace@Example.com"))])]))
      #expect(archives(server).last == .object([("inputs", .array([.object([("id", .string("502"))])]))]))
      // A change's upsert answer gives Ada's id back, and it is kept again.
      try scenario.sql("update users set plan = 'team' where user_id = 1")
      try await scenario.apply()
      #expect(try scenario.snapshot("hubspot_contacts").map(\.destinationID) == ["\"501\"", nil])
    }
  }

  /// `backflow test --dry-run` shows the look-up it would make, sends nothing, and says why the
  /// record cannot go: a dry run learns no id.
  @Test func aDryRunOfARowWithNoKeptIDSendsNoLookUp() async throws {
    let api = RESTPresetTests.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try hubspot(server)
      try await scenario.apply()
      try await resetCDC(scenario)
      let sent = server.requests.count
      let tester = RowTester(project: try scenario.loadProject(), directory: scenario.directory, state: try scenario.openState())
      let prepared = try tester.prepare(RowTest(sync: "hubspot_contacts", key: "2", operation: .removed))
      let outcome = await tester.send(prepared, dryRun: true) { _ in }
      #expect(
        outcome
          == .failed(
            "no destination id is kept for this record; apply looks it up with read: first (a dry run sends nothing)"))
      #expect(server.requests.count == sent)
      // With the id kept, the same dry run renders the archive.
      try scenario.sql("update users set plan = 'team' where user_id = 2")
      try await scenario.apply()
      let kept = try tester.prepare(RowTest(sync: "hubspot_contacts", key: "2", operation: .removed))
      #expect(kept.record?.destinationID == .string("502"))
      #expect(await tester.send(kept, dryRun: true) { _ in } == .dryRun)
    }
  }

  @Test func withoutReadARowWithNoKeptIDFailsAndNothingIsSent() async throws {
    let api = RESTPresetTests.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try hubspot(server, read: false)
      try await scenario.apply()
      try await resetCDC(scenario)
      try scenario.sql("delete from users where user_id = 2")
      let removal = try await scenario.apply().run("hubspot_contacts")
      #expect(removal.failed == OperationCounts(remove: 1) && removal.succeeded == OperationCounts())
      #expect(
        try scenario.openState().failures(runID: removal.id).map(\.reason) == [
          "no destination id is kept for this record; declare `read:` to look it up"
        ])
      #expect(archives(server).isEmpty, "a template never sends null where an id is needed")
      #expect(api.current.contacts["grace@example.com"] != nil)
      // The row stays in the snapshot, to be removed by a later run (reset-cdc recorded bad@'s too).
      #expect(try scenario.snapshot("hubspot_contacts").map(\.key) == ["1", "2", "3"])
    }
  }

  @Test(arguments: Backend.allCases)
  func keptIDsSurviveAFailedRunAndFailedRowsClaimNone(state: Backend) async throws {
    guard state.available else { return }
    let api = RESTPresetTests.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try hubspot(server, state: state)
      #expect(try scenario.loadProject().state.value.hasPrefix(state == .postgres ? "postgres" : "sqlite"))
      try await scenario.apply()
      // bad@ failed: its row is not in the snapshot, with or without an id.
      #expect(try scenario.snapshot("hubspot_contacts").map(\.key) == ["1", "2"])
      api.update { $0.refusing = 403 }
      try scenario.sql("delete from users where user_id = 2")
      let failed = try await scenario.apply().run("hubspot_contacts")
      #expect(failed.failed == OperationCounts(add: 1, remove: 1) && failed.status == .failed, "\(failed)")
      #expect(try scenario.snapshot("hubspot_contacts").map(\.destinationID) == ["\"501\"", "\"502\""])
      api.update { $0.refusing = nil }
      let retried = try await scenario.apply().run("hubspot_contacts")
      #expect(retried.succeeded == OperationCounts(remove: 1))
      #expect(archives(server).last == .object([("inputs", .array([.object([("id", .string("502"))])]))]))
      #expect(api.current.contacts.keys.sorted() == ["ada@example.com"])
    }
  }

  // MARK: Drift

  @Test func driftReadsRecordsBackAndFindsChangedMissingAndUnchanged() async throws {
    let api = RESTPresetTests.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try hubspot(server)
      try scenario.sql("insert into users values (4, 'kat@example.com', 'Katherine', 'pro', '2026-03-04T09:30:00Z')")
      try await scenario.apply()
      api.update { hubspot in
        hubspot.contacts["ada@example.com"] = .object([("firstname", .string("Ada")), ("plan", .string("free"))])
        hubspot.contacts["grace@example.com"] = nil
        hubspot.ids["grace@example.com"] = nil
      }
      let report = try await DataDrift(project: scenario.loadProject(), directory: scenario.directory, state: scenario.openState())
        .report(commit: nil)
      let data = try #require(report.syncs.first { $0.name == "hubspot_contacts" }?.data)
      #expect(data.status == .checked && data.compared == 3 && data.differing == 1 && data.missing == 1)
      #expect(
        data.differingSample == [
          .init(key: "1", match: "ada@example.com", fields: [.init(name: "properties.plan", destination: "free", written: "pro")])
        ])
      #expect(data.missingSample.map(\.key) == ["2"])
      let reads = server.requests.filter { $0.path.hasSuffix("/batch/read") }
      #expect(reads.count == 1 && reads.allSatisfy { $0.header("Idempotency-Key") == nil })
    }
  }

  @Test func driftWithoutReadSaysItCannotReadBack() async throws {
    let api = RESTPresetTests.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try hubspot(server, read: false)
      try await scenario.apply()
      let report = try await DataDrift(project: scenario.loadProject(), directory: scenario.directory, state: scenario.openState())
        .report(commit: nil)
      let data = try #require(report.syncs.first { $0.name == "hubspot_contacts" }?.data)
      #expect(
        data.status
          == .notChecked(
            "the sync has no requests.read, so its records cannot be read back to compare; declare read: (a request "
              + "that takes a batch of keys and returns records, docs/rest.md)"))
    }
  }

  // MARK: Mirror through list:

  /// One way `list:` pages, with the API whose documented paging it follows.
  enum Paging: String, CaseIterable, Sendable {
    /// Slack's Web API (api.slack.com/docs/pagination): `cursor` and `limit`, the next page's
    /// cursor in `response_metadata.next_cursor`, an empty string on the last page.
    case cursor
    /// Zendesk's offset pagination (developer.zendesk.com/api-reference/introduction/pagination/):
    /// `per_page`, the next page's whole URL in `next_page`, null on the last page.
    case nextURL
    /// Mailchimp's lists (mailchimp.com/developer/marketing/docs/methods-parameters/#pagination):
    /// `offset` and `count`; a short page is the last.
    case offset

    var listRequest: String {
      switch self {
      case .cursor:
        """
            query: { limit: "2", cursor: "{{ cursor }}" }
            result: { records: data, key: email, id: id, next: response_metadata.next_cursor }
        """
      case .nextURL:
        """
            query: { per_page: "2" }
            result: { records: data, key: email, id: id, next_url: next_page }
        """
      case .offset:
        """
            offset: { param: offset, size_param: count, size: 2 }
            result: { records: data, key: email, id: id }
        """
      }
    }
  }

  /// People by id, as the paging APIs above list them; upserted by email, deleted by id.
  struct People {
    var people: [(id: Int, email: String, name: JSONValue)] = []

    mutating func upsert(_ email: String, _ name: JSONValue) -> Int {
      if let index = people.firstIndex(where: { $0.email == email }) {
        people[index].name = name
        return people[index].id
      }
      let id = (people.map(\.id).max() ?? 0) + 1
      people.append((id, email, name))
      return id
    }
  }

  static func peopleAPI(_ seeded: [String]) -> APIStandIn<People> {
    var people = People()
    for email in seeded { _ = people.upsert(email, .string("seeded")) }
    return APIStandIn(people) { state, request in
      if request.method == "POST" {
        let results = (request.body?["people"]?.items ?? []).map { person -> JSONValue in
          guard case let .string(email)? = person["email"] else { return .null }
          let id = state.upsert(email, person["name"] ?? .null)
          return .object([("id", .int(id)), ("email", .string(email))])
        }
        return ProtocolServer.Answer(status: 200, json: .object([("results", .array(results))]))
      }
      if request.method == "DELETE" {
        let id = Int(request.path.split(separator: "/").last ?? "") ?? 0
        guard state.people.contains(where: { $0.id == id }) else {
          return ProtocolServer.Answer(status: 404, json: .object([("error", .string("not_found"))]))
        }
        state.people.removeAll { $0.id == id }
        return ProtocolServer.Answer(status: 204, body: "")
      }
      let query = Dictionary(
        (URLComponents(string: "?" + request.query)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
      let size = Int(query["limit"] ?? query["per_page"] ?? query["count"] ?? "") ?? 100
      let start =
        if let cursor = query["cursor"] { Int(String(decoding: Data(base64Encoded: cursor) ?? Data(), as: UTF8.self)) ?? 0 }
        else if let page = query["page"] { ((Int(page) ?? 1) - 1) * size }
        else { Int(query["offset"] ?? "") ?? 0 }
      let sorted = state.people.sorted { $0.id < $1.id }
      let page = sorted.dropFirst(start).prefix(size)
      let more = start + size < sorted.count
      let data = JSONValue.array(page.map { .object([("id", .int($0.id)), ("email", .string($0.email)), ("name", $0.name)]) })
      let host = request.header("Host") ?? ""
      let nextPage = (start / max(size, 1)) + 2
      return ProtocolServer.Answer(
        status: 200,
        json: .object([
          ("data", data),
          ("response_metadata", .object([("next_cursor", .string(more ? Data(String(start + size).utf8).base64EncodedString() : ""))])),
          ("next_page", more ? .string("http://\(host)/people?page=\(nextPage)&per_page=\(size)") : .null),
          ("total_items", .int(sorted.count)),
        ]))
    }
  }

  static func mirrorSync(_ paging: Paging) -> String {
    """
    model: users
    destination: people
    object: people
    mode: mirror
    match: { email: email }
    mappings:
      - { from: first_name, to: name }
    requests:
      upsert:
        method: POST
        path: /people
        body: { people: { $each: records, $item: { email: "{{ record.key }}", name: "{{ record.fields.name }}" } } }
        result: { ids: results, id_key: email, id: id }
      delete:
        method: DELETE
        path: /people/{{ record.destination_id }}
        batch: 1
      list:
        method: GET
        path: /people
    \(paging.listRequest)

    """
  }

  @Test(arguments: Paging.allCases)
  func mirrorsFirstRunDeletesRecordsAbsentFromTheModelThroughList(paging: Paging) async throws {
    let api = Self.peopleAPI(["old@example.com", "ada@example.com", "older@example.com"])
    try await withAPIServer({ api($0) }) { server in
      let scenario = try Scenario(.sqlite)
      try scenario.remove("syncs/users_to_crm.yaml")
      try scenario.addDestination("people: { type: rest, url: \"\(server.url)\", retries: 0 }")
      scenario.write(["syncs/people.yaml": Self.mirrorSync(paging)])
      try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"), (3, "kat@example.com", "Kat", "pro")])
      let outcome = try await scenario.apply().sync("people")
      #expect(outcome.run?.succeeded == OperationCounts(add: 3), "\(outcome.error ?? "") \(outcome.run?.error ?? "")")
      #expect(outcome.notes.contains("mirror sweep deleted 2 records absent from the model"), "\(outcome.notes)")
      #expect(api.current.people.map(\.email).sorted() == ["ada@example.com", "grace@example.com", "kat@example.com"])
      #expect(server.requests.filter { $0.method == "DELETE" }.map(\.path).sorted() == ["/people/1", "/people/3"])
      // Five records, two a page: three pages.
      #expect(server.requests.filter { $0.method == "GET" }.count == 3)
      #expect(try scenario.syncRecord("people").sweptAt != nil)
    }
  }

  /// A `next_url` on another server is not followed: the credentials would go with it.
  @Test func aNextURLOnAnotherServerIsNotFollowed() async throws {
    let api = Self.peopleAPI(["old@example.com", "ada@example.com", "older@example.com"])
    try await withAPIServer({ request in
      var answer = api(request)
      answer.body = answer.body.replacingOccurrences(of: "http://127.0.0.1", with: "http://localhost")
      return answer
    }) { server in
      let scenario = try Scenario(.sqlite)
      try scenario.remove("syncs/users_to_crm.yaml")
      try scenario.addDestination("people: { type: rest, url: \"\(server.url)\", retries: 0 }")
      scenario.write(["syncs/people.yaml": Self.mirrorSync(.nextURL)])
      try scenario.insert([(1, "ada@example.com", "Ada", "pro")])
      let outcome = try await scenario.apply().sync("people")
      #expect(outcome.run?.error?.contains("result.next_url points at another server") == true, "\(outcome)")
      #expect(server.requests.filter { $0.method == "DELETE" }.isEmpty)
      #expect(try scenario.syncRecord("people").sweptAt == nil)
    }
  }
}
