import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowTestSupport
import Foundation
import Testing

/// Data drift on an http destination declared `readable: true`: a real apply to a real
/// `ProtocolServer` on 127.0.0.1, whose records the tests then change behind Backflow's back, and
/// the read endpoints read back, from a SQLite or a PostgreSQL warehouse.
@Suite("drift over HTTP")
struct HTTPDriftTests {
  /// The sync of `Scenario.sync` sent to `api`, with the user ID as a number field too.
  static func sync(mode: String) -> String {
    Scenario.sync.replacingOccurrences(of: "destination: local\nobject: contacts", with: "destination: api\nobject: contacts\nmode: \(mode)")
      + "  - { from: user_id, to: number }\n"
  }

  /// A scenario on `backend` whose sync sends the four people to `server` in `mode`, applied once.
  static func applied(_ backend: Backend, to server: ProtocolServer, mode: String = "upsert") async throws -> Scenario {
    let scenario = try Scenario(backend)
    try scenario.addDestination("api: { type: http, url: \"\(server.url)\", readable: true, retries: 1 }")
    scenario.write(["syncs/users_to_crm.yaml": sync(mode: mode)])
    try scenario.insert(DriftTests.people)
    try await scenario.apply()
    return scenario
  }

  static func report(_ scenario: Scenario) async throws -> DriftReport {
    try await DataDrift(project: scenario.loadProject(), directory: scenario.directory, state: scenario.openState())
      .report(commit: nil)
  }

  @Test(arguments: Backend.allCases)
  func editedAndMissingRecordsAreDataDrift(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer { server in
      let scenario = try await Self.applied(backend, to: server)
      #expect(server.records(in: "contacts").count == 4)
      let clean = try #require(try await Self.report(scenario).syncs.first?.data)
      #expect(clean.status == .checked && clean.compared == 4 && !clean.hasDrift)

      // The same number spelled otherwise is the same value.
      try server.alter("katherine@example.com", in: "contacts", fields: [("number", .number("3.0"))])
      #expect(try await !Self.report(scenario).hasDrift)

      try server.alter("ada@example.com", in: "contacts", fields: [("tier", .string("free")), ("number", .string("1"))])
      try server.delete("grace@example.com", in: "contacts")
      let report = try await Self.report(scenario)
      #expect(report.hasDrift && !report.hasErrors)
      let data = try #require(report.syncs.first?.data)
      #expect(data.status == .checked && data.destination == "api/contacts")
      #expect(data.compared == 4 && data.differing == 1 && data.missing == 1 && data.extra == nil)
      #expect(
        data.differingSample == [
          .init(
            key: "1", match: "ada@example.com",
            fields: [
              .init(name: "tier", destination: "free", written: "pro"),
              // A string is not the number it spells.
              .init(name: "number", destination: "1", written: "1"),
            ])
        ])
      #expect(data.missingSample == [.init(key: "2", match: "grace@example.com")])
      // Reads go to the read endpoint, never to the object's write endpoint.
      let reads = server.requests.filter { $0.path == "/contacts/read" }
      #expect(!reads.isEmpty && reads.allSatisfy { $0.header("Idempotency-Key") == nil })
      #expect(reads.last?.body?["fields"] == .array([.string("first_name"), .string("tier"), .string("number")]))
      #expect(reads.last?.body?["match_field"] == .string("email"))
    }
  }

  @Test(arguments: Backend.allCases)
  func mirrorFindsRecordsThatShouldNotBeThereAcrossPages(backend: Backend) async throws {
    guard backend.available else { return }
    try await withProtocolServer(keysPageLimit: 2) { server in
      // A record no model row names, there before the first run: mirror's sweep deletes it.
      server.add(.init(key: .string("old@example.com"), fields: .object([])), to: "contacts")
      let scenario = try await Self.applied(backend, to: server, mode: "mirror")
      #expect(server.record("old@example.com", in: "contacts") == nil)
      #expect(server.records(in: "contacts").count == 4)
      #expect(try scenario.syncRecord().sweptAt != nil)
      #expect(try await !Self.report(scenario).hasDrift)

      for name in ["x", "y", "z"] {
        server.add(.init(key: .string("\(name)@example.com"), fields: .object([("tier", .string("pro"))])), to: "contacts")
      }
      let before = server.requests.count
      let data = try #require(try await Self.report(scenario).syncs.first?.data)
      #expect(data.status == .checked && data.extra == 3 && data.differing == 0 && data.missing == 0)
      #expect(data.extraSample == ["x@example.com", "y@example.com", "z@example.com"])
      // Seven records, two keys a page: four pages, each asking for the cursor the last gave.
      let listing = server.requests.dropFirst(before).filter { $0.path == "/contacts/keys" }
      #expect(listing.map { $0.body?["cursor"] } == [.null, .string("2"), .string("4"), .string("6")])
    }
  }

  @Test func repairThenApplySendsTheDriftedRecordsAgain() async throws {
    try await withProtocolServer { server in
      let scenario = try await Self.applied(.sqlite, to: server)
      try server.alter("ada@example.com", in: "contacts", fields: [("tier", .string("free"))])
      try server.delete("grace@example.com", in: "contacts")
      let checker = try DataDrift(project: scenario.loadProject(), directory: scenario.directory, state: scenario.openState())
      var report = try await checker.report(commit: nil)
      let dropped = try checker.repair(&report, writable: try scenario.openState(writing: true))
      #expect(dropped.values.first == 2 && report.syncs.first?.data?.repaired == 2)

      let before = server.requests.count
      try await scenario.apply()
      let sent = server.requests.dropFirst(before).filter { $0.path == "/contacts" }
      let keys = sent.flatMap { request -> [JSONValue] in
        guard case let .array(records)? = request.body?["records"] else { return [] }
        return records.compactMap { $0["key"] }
      }
      #expect(Set(keys.map { $0.rendered(compact: true) }) == ["\"ada@example.com\"", "\"grace@example.com\""])
      #expect(server.record("ada@example.com", in: "contacts")?.fields["tier"] == .string("pro"))
      #expect(server.record("grace@example.com", in: "contacts") != nil)
      #expect(try await !Self.report(scenario).hasDrift)
    }
  }

  @Test func aServerWithoutTheReadEndpointsIsAnError() async throws {
    try await withProtocolServer(readEndpoints: false) { server in
      let scenario = try await Self.applied(.sqlite, to: server)
      let report = try await Self.report(scenario)
      guard case let .failed(message)? = report.syncs.first?.data?.status else {
        throw ScenarioError("no failure: \(String(describing: report.syncs.first?.data?.status))")
      }
      #expect(message.hasPrefix("destination api: POST /contacts/read: HTTP 404: not found"))
      #expect(message.contains("declared readable: true, but its server does not seem to implement the read endpoints"))
      #expect(report.hasErrors && !report.hasDrift)
    }
  }
}
