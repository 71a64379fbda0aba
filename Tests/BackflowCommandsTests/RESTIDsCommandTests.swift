import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// The HubSpot preset run as a user runs it, with the built executable against a local server
/// that answers as HubSpot's reference documents: HubSpot's ids kept by `apply`, shown by
/// `plan --show-requests` and `backflow test`, used to archive; `drift` reading contacts back.
/// The token never appears in any output.
@Suite("rest ids and drift, end to end")
struct RESTIDsCommandTests {
  static let secret = "pat-na1-7f3e-secret"
  static let users = [(1, "ada@example.com", "Ada", "pro"), (2, "Grace@Example.com", "Grace", "free")]

  @Test func idsAreKeptShownUsedAndDriftReadsBack() async throws {
    let api = HubSpotStandIn.api(token: Self.secret)
    try await withAPIServer({ api($0) }) { server in
      let scenario = try Scenario.restPreset("hubspot_contacts", server: server, secret: Self.secret, users: Self.users)
      let (directory, environment) = (scenario.directory, scenario.environment)
      func backflow(_ arguments: [String]) async throws -> BackflowProcess.Output {
        let output = try await onThreadOfItsOwn { try BackflowProcess.run(arguments, in: directory, environment: environment) }
        #expect(!output.stdout.contains(Self.secret) && !output.stderr.contains(Self.secret), "\(arguments) showed the token")
        return output
      }

      let applied = try await backflow(["apply", "--auto-approve"])
      #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
      #expect(api.current.ids == ["ada@example.com": "501", "grace@example.com": "502"])

      // A dry run of a removal renders the archive with the kept id, and sends nothing.
      let dryRun = try await backflow(["test", "hubspot_contacts", "--row", "2", "--as", "removed", "--dry-run"])
      #expect(dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
      #expect(dryRun.stdout.contains(#"{"inputs":[{"id":"502"}]}"#), "\(dryRun.stdout)")
      #expect(dryRun.stdout.contains("Authorization: Bearer [redacted]"), "\(dryRun.stdout)")
      #expect(api.current.contacts.count == 2 && !server.requests.contains { $0.path.hasSuffix("/archive") })

      try scenario.sql("update users set plan = 'team' where user_id = 1")
      let plan = try await backflow(["plan", "--show-requests"])
      #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
      #expect(plan.stdout.contains("hubspot_contacts, changed row 1:"), "\(plan.stdout)")
      #expect(plan.stdout.contains("POST [redacted]/crm/v3/objects/contacts/batch/upsert"), "\(plan.stdout)")

      // HubSpot's copy changes behind Backflow's back; drift reads it back through read:.
      api.update { hubspot in
        hubspot.contacts["grace@example.com"] = .object([("firstname", .string("Gracie")), ("plan", .string("free"))])
      }
      let drift = try await backflow(["drift"])
      #expect(drift.status == 2, "\(drift.stdout)\(drift.stderr)")
      #expect(drift.stdout.contains("data hubspot/contacts: 1 record differs (1 compared, 1 pending change not compared"), "\(drift.stdout)")
      #expect(
        drift.stdout.contains(#"~ Grace@Example.com (key 2): properties.firstname: hubspot has "Gracie", Backflow wrote "Grace""#),
        "\(drift.stdout)")

      try scenario.sql("delete from users where user_id = 2")
      let removal = try await backflow(["apply", "--auto-approve"])
      #expect(removal.status == 0, "\(removal.stdout)\(removal.stderr)")
      let archive = try #require(server.requests.last { $0.path.hasSuffix("/batch/archive") })
      #expect(archive.body == .object([("inputs", .array([.object([("id", .string("502"))])]))]))
      #expect(api.current.contacts.keys.sorted() == ["ada@example.com"])
    }
  }
}
