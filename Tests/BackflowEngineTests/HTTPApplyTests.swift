import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `apply` into a real HTTP server on 127.0.0.1 that throttles, fails, drops connections and
/// rejects records.
@Suite("apply over HTTP")
struct HTTPApplyTests {
  static let token = "sekret-token-6c1f"

  func scenario(server: ProtocolServer, users: Int) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.environment["CRM_TOKEN"] = Self.token
    scenario.useDestinations(
      "  api: { type: http, url: \"\(server.url)\", retries: 4, timeout: 5s, headers: { Authorization: \"Bearer ${CRM_TOKEN}\" } }")
    scenario.write([
      "syncs/users_to_crm.yaml": """
        model: users
        destination: api
        object: contacts
        match: { email: email }
        mappings:
          - { from: first_name, to: first_name }
          - { from: plan, to: tier }
        batch: { size: 3, concurrency: 2 }
        on_delete: delete

        """,
    ])
    try scenario.insert((1...users).map { ($0, "user\($0)@example.com", "User \($0)", $0 % 2 == 0 ? "pro" : "free") })
    return scenario
  }

  /// Every snapshot entry has the server's record, with the fields the model holds now.
  func expectDeliveredAsTheSnapshotSays(_ scenario: Scenario, _ server: ProtocolServer) throws {
    let state = try scenario.openState()
    let id = try #require(try state.syncs().first?.id)
    let snapshot = try state.snapshot(syncID: id)
    var keys: [String] = []
    while let entry = try snapshot.next() { keys.append(entry.key) }
    let stored = server.records(in: "contacts")
    #expect(stored.count >= keys.count)
    for key in keys {
      let record = server.record("user\(key)@example.com", in: "contacts")
      let number = try #require(Int(key))
      #expect(record?.fields == .object([("first_name", .string("User \(number)")), ("tier", .string(number % 2 == 0 ? "pro" : "free"))]))
    }
  }

  @Test func throttlingFailuresAndDroppedConnectionsLoseNoRowAndRejectedRowsAreRetried() async throws {
    try await withProtocolServer { server in
      let scenario = try scenario(server: server, users: 20)
      server.inject(.tooManyRequests(retryAfter: "0"), count: 2)
      server.inject(.unavailable(), count: 2)
      server.inject(.drop, count: 2)
      server.reject("user7@example.com", reason: "invalid email domain")
      let outcomes = try await scenario.apply()
      let run = try outcomes.run()
      #expect(run.status == .failed && run.succeeded == OperationCounts(add: 19) && run.failed == OperationCounts(add: 1))
      #expect(try scenario.openState().failures(runID: run.id) == [FailedRow(operation: "add", key: "7", reason: "invalid email domain")])
      #expect(server.records(in: "contacts").count == 19)
      try expectDeliveredAsTheSnapshotSays(scenario, server)
      // Every batch carries its own idempotency key, the same on each retry.
      let keys = server.requests.compactMap { $0.header("Idempotency-Key") }
      #expect(Set(keys).count == 7 && keys.allSatisfy { $0.hasPrefix("1-\(run.id)-") })
      #expect(server.requests.allSatisfy { $0.header("Authorization") == "Bearer \(Self.token)" })

      // The rejected row is planned again, alone, and sent again.
      let before = server.requests.count
      let retry = try await scenario.apply().run()
      #expect(retry.planned == OperationCounts(add: 1) && retry.failed == OperationCounts(add: 1))
      let resent = server.requests.dropFirst(before).compactMap { $0.body?["records"] }
      #expect(resent == [.array([.object([("key", .string("user7@example.com")), ("fields", .object([("first_name", .string("User 7")), ("tier", .string("free"))]))])])])
    }
  }

  @Test func retriesExhaustedFailTheBatchAndTheNextRunSendsIt() async throws {
    try await withProtocolServer { server in
      let scenario = try scenario(server: server, users: 3)
      server.inject(.unavailable("down for maintenance"), count: 5)
      let run = try await scenario.apply().run()
      #expect(run.failed == OperationCounts(add: 3) && run.status == .failed)
      #expect(try scenario.openState().failures(runID: run.id).allSatisfy { $0.reason == "HTTP 503: down for maintenance" })
      let next = try await scenario.apply().run()
      #expect(next.succeeded == OperationCounts(add: 3) && server.records(in: "contacts").count == 3)
      try expectDeliveredAsTheSnapshotSays(scenario, server)
    }
  }

  @Test func removalsAreDeletedByTheirMatchValueAndTheTokenIsStoredNowhere() async throws {
    try await withProtocolServer { server in
      let scenario = try scenario(server: server, users: 4)
      try await scenario.apply()
      try scenario.sql("delete from users where user_id = 2; update users set plan = 'team' where user_id = 3")
      let run = try await scenario.apply().run()
      #expect(run.succeeded == OperationCounts(change: 1, remove: 1))
      let deletes = server.requests.filter { $0.body?["operation"] == .string("delete") }
      #expect(deletes.count == 1 && deletes[0].body?["records"] == .array([.object([("key", .string("user2@example.com"))])]))
      let keys = server.records(in: "contacts").map { $0.key.rendered(compact: true) }.sorted()
      #expect(keys == ["\"user1@example.com\"", "\"user3@example.com\"", "\"user4@example.com\""])
      for file in [".backflow/state.db", "last.plan"] {
        let bytes = try Data(contentsOf: scenario.directory.appendingPathComponent(file))
        #expect(bytes.range(of: Data(Self.token.utf8)) == nil, "\(file) holds the token")
      }
    }
  }
}
