import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `apply` into a rest destination: a real HTTP server on 127.0.0.1 standing in for HubSpot's
/// contacts batch API, answering as its public reference documents it
/// (developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts:
/// 200 with `results`, 207 Multi-Status with `errors[].context.ids`, 429 with a JSON `message`).
@Suite("apply over REST")
struct RESTApplyTests {
  static let token = "pat-na1-7c1e0f3a-secret"

  /// HubSpot's contacts by email, behind a lock: the server's event loop and the test both read it.
  final class Contacts: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String: JSONValue] = [:]

    subscript(email: String) -> JSONValue? {
      lock.lock()
      defer { lock.unlock() }
      return stored[email]
    }

    var emails: [String] {
      lock.lock()
      defer { lock.unlock() }
      return stored.keys.sorted()
    }

    /// `POST /crm/v3/objects/contacts/batch/upsert` and `/batch/archive` (archive by email here,
    /// as `idProperty: email` lets the batch read endpoints do).
    func answer(_ request: ProtocolServer.Request) -> ProtocolServer.Answer {
      guard request.header("Authorization") == "Bearer \(RESTApplyTests.token)" else {
        return ProtocolServer.Answer(
          status: 401,
          json: .object([
            ("status", .string("error")), ("message", .string("Authentication credentials not found.")),
            ("category", .string("INVALID_AUTHENTICATION")),
          ]))
      }
      guard case let .array(inputs)? = request.body?["inputs"] else {
        return ProtocolServer.Answer(
          status: 400,
          json: .object([
            ("status", .string("error")), ("message", .string("Invalid input JSON")),
            ("category", .string("VALIDATION_ERROR")),
          ]))
      }
      lock.lock()
      defer { lock.unlock() }
      var results: [JSONValue] = []
      var errors: [JSONValue] = []
      for input in inputs {
        guard case let .string(email)? = input["id"] else { continue }
        if request.path.hasSuffix("/batch/archive") {
          stored[email] = nil
          continue
        }
        if email.contains("invalid") {
          errors.append(
            .object([
              ("status", .string("error")), ("category", .string("VALIDATION_ERROR")),
              ("message", .string("Property values were not valid: email \(email) is not a valid email")),
              ("context", .object([("ids", .array([.string(email)]))])),
            ]))
          continue
        }
        stored[email] = input["properties"] ?? .object([])
        results.append(.object([("id", .string(String(stored.count))), ("properties", input["properties"] ?? .null)]))
      }
      if request.path.hasSuffix("/batch/archive") { return ProtocolServer.Answer(status: 204, body: "") }
      var body: [(String, JSONValue)] = [("status", .string("COMPLETE")), ("results", .array(results))]
      if !errors.isEmpty { body += [("numErrors", .int(errors.count)), ("errors", .array(errors))] }
      return ProtocolServer.Answer(status: errors.isEmpty ? 200 : 207, json: .object(body))
    }
  }

  static let sync = """
    model: users
    destination: hubspot
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: properties.firstname }
      - { from: plan, to: properties.plan }
    batch: { size: 10 }
    on_delete: delete
    requests:
      upsert:
        method: POST
        path: /crm/v3/objects/{{ object }}/batch/upsert
        batch: 4
        body:
          inputs:
            $each: records
            $item:
              idProperty: email
              id: "{{ record.key }}"
              properties: "{{ record.fields.properties }}"
        result:
          errors: errors
          error_key: context.ids[0]
          error_message: message
      delete:
        method: POST
        path: /crm/v3/objects/{{ object }}/batch/archive
        body: { inputs: { $each: records, $item: { id: "{{ record.key }}" } } }

    """

  func scenario(server: ProtocolServer, users: Int, sync: String = Self.sync) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.environment["HUBSPOT_TOKEN"] = Self.token
    scenario.useDestinations(
      """
        hubspot:
          type: rest
          url: "\(server.url)"
          auth: { bearer: "${HUBSPOT_TOKEN}" }
          retries: 6
          timeout: 5s
      """)
    scenario.write(["syncs/users_to_crm.yaml": sync])
    try scenario.insert(
      (1...users).map { ($0, $0 == 3 ? "invalid\($0)@example" : "user\($0)@example.com", "User \($0)", $0 % 2 == 0 ? "pro" : "free") })
    return scenario
  }

  @Test func batchUpsertNestedFieldsPerRecordErrorsAndDeletes() async throws {
    let contacts = Contacts()
    try await withAPIServer(contacts.answer) { server in
      let scenario = try scenario(server: server, users: 9)
      let run = try await scenario.apply().run()
      let failures = try scenario.openState().failures(runID: run.id)
      #expect(run.succeeded == OperationCounts(add: 8) && run.failed == OperationCounts(add: 1), "\(failures)")
      #expect(
        failures == [
          FailedRow(
            operation: "add", key: "3",
            reason: "Property values were not valid: email invalid3@example is not a valid email")
        ])
      #expect(contacts.emails.count == 8)
      #expect(contacts["user2@example.com"] == .object([("firstname", .string("User 2")), ("plan", .string("pro"))]))
      // A batch of 9 in requests of at most 4: 3 requests, each its own idempotency key.
      let upserts = server.requests.filter { $0.path.hasSuffix("/batch/upsert") }
      #expect(upserts.map { $0.body?["inputs"]?.arrayCount ?? 0 } == [4, 4, 1])
      #expect(upserts.map { $0.header("Idempotency-Key") ?? "" } == ["1-\(run.id)-1-1", "1-\(run.id)-1-2", "1-\(run.id)-1-3"])
      #expect(
        upserts[0].body?["inputs"]?.items?.first
          == .object([
            ("idProperty", .string("email")), ("id", .string("user1@example.com")),
            ("properties", .object([("firstname", .string("User 1")), ("plan", .string("free"))])),
          ]))

      try scenario.sql("delete from users where user_id in (2, 4)")
      let removal = try await scenario.apply().run()
      // The row rejected last run is sent again too, and fails again.
      #expect(removal.succeeded == OperationCounts(remove: 2) && removal.failed == OperationCounts(add: 1))
      let archive = try #require(server.requests.last { $0.path.hasSuffix("/batch/archive") })
      #expect(archive.path == "/crm/v3/objects/contacts/batch/archive")
      #expect(
        archive.body
          == .object([
            ("inputs", .array([.object([("id", .string("user2@example.com"))]), .object([("id", .string("user4@example.com"))])]))
          ]))
      #expect(contacts["user2@example.com"] == nil && contacts.emails.count == 6)
      for file in [".backflow/state.db", "last.plan"] {
        let bytes = try Data(contentsOf: scenario.directory.appendingPathComponent(file))
        #expect(bytes.range(of: Data(Self.token.utf8)) == nil, "\(file) holds the token")
      }
    }
  }

  @Test func aStormOf429sAnd503sLosesAndDuplicatesNothing() async throws {
    let contacts = Contacts()
    try await withAPIServer(contacts.answer) { server in
      let scenario = try scenario(server: server, users: 8)
      let limited = #"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT"}"#
      // A dropped connection first: its back-off (up to a second) is the only wait.
      server.inject(.drop)
      server.inject(.answer(status: 429, headers: [("Retry-After", "0")], body: limited), count: 3)
      server.inject(.answer(status: 503, headers: [("Retry-After", "0")], body: "upstream unavailable"), count: 2)
      let run = try await scenario.apply().run()
      let failures = try scenario.openState().failures(runID: run.id)
      #expect(run.succeeded == OperationCounts(add: 7) && run.failed == OperationCounts(add: 1), "\(failures)")
      #expect(contacts.emails.count == 7)
      // Retries of one request carry its key again; no two requests share one.
      let keys = server.requests.compactMap { $0.header("Idempotency-Key") }
      #expect(Set(keys) == ["1-\(run.id)-1-1", "1-\(run.id)-1-2"])
    }
  }

  @Test func a400ForTheWholeRequestIsSplitDownToTheRecordAtFault() async throws {
    // An API that refuses a whole batch for one bad record, saying nothing of which: a 400
    // with a message only.
    let api: @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer = { request in
      let inputs = request.body?["inputs"]?.items ?? []
      if inputs.contains(where: { $0["id"] == .string("invalid3@example") }) {
        return ProtocolServer.Answer(
          status: 400, json: .object([("status", .string("error")), ("message", .string("Invalid email address"))]))
      }
      return ProtocolServer.Answer(status: 200, json: .object([("status", .string("COMPLETE")), ("results", .array([]))]))
    }
    try await withAPIServer(api) { server in
      let scenario = try scenario(server: server, users: 4, sync: Self.sync.replacingOccurrences(of: "    batch: 4\n", with: ""))
      let run = try await scenario.apply().run()
      #expect(run.succeeded == OperationCounts(add: 3) && run.failed == OperationCounts(add: 1))
      #expect(
        try scenario.openState().failures(runID: run.id) == [
          FailedRow(operation: "add", key: "3", reason: "HTTP 400: Invalid email address")
        ])
      // 4 → 2 + 2 → the half with the bad record → 1 + 1.
      #expect(server.requests.map { $0.body?["inputs"]?.arrayCount ?? 0 } == [4, 2, 2, 1, 1])
    }
  }

  @Test func a4xxTheResultPathsReadFailsTheNamedRecordsAndSendsTheOthersAgain() async throws {
    let api: @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer = { request in
      let inputs = request.body?["inputs"]?.items ?? []
      let bad = inputs.compactMap { $0["id"] }.filter { $0 == .string("invalid3@example") }
      if !bad.isEmpty {
        return ProtocolServer.Answer(
          status: 400,
          json: .object([
            ("status", .string("error")),
            ("errors", .array(bad.map { .object([("message", .string("not an email")), ("context", .object([("ids", .array([$0]))]))]) })),
          ]))
      }
      return ProtocolServer.Answer(status: 200, json: .object([("status", .string("COMPLETE"))]))
    }
    try await withAPIServer(api) { server in
      let scenario = try scenario(server: server, users: 4, sync: Self.sync.replacingOccurrences(of: "    batch: 4\n", with: ""))
      let run = try await scenario.apply().run()
      #expect(run.succeeded == OperationCounts(add: 3) && run.failed == OperationCounts(add: 1))
      #expect(try scenario.openState().failures(runID: run.id).map(\.reason) == ["not an email"])
      #expect(server.requests.map { $0.body?["inputs"]?.arrayCount ?? 0 } == [4, 3])
    }
  }

  @Test func anAnswerThatIsNotJSONWhileResultIsSetFailsTheBatchSayingSo() async throws {
    let api: @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer = { _ in
      ProtocolServer.Answer(status: 200, body: "<html>maintenance</html>")
    }
    try await withAPIServer(api) { server in
      let scenario = try scenario(server: server, users: 2)
      let run = try await scenario.apply().run()
      #expect(run.failed == OperationCounts(add: 2))
      #expect(
        try scenario.openState().failures(runID: run.id).map(\.reason)
          == Array(repeating: "HTTP 200: the answer is not JSON, but result: reads it as JSON: <html>maintenance</html>", count: 2))
    }
  }
}

extension JSONValue {
  var items: [JSONValue]? {
    if case let .array(items) = self { return items }
    return nil
  }

  var arrayCount: Int? { items?.count }
}
