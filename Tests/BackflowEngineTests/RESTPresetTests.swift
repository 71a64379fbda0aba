import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// The presets in examples/rest/, applied end to end against local servers that answer as each
/// API's public reference documents (named on each stand-in). The preset files are used as they
/// are; only the warehouse becomes the scenario's SQLite file and the URLs the local server.
@Suite("REST presets")
struct RESTPresetTests {
  static let secret = "preset-secret-4e9b"
  static let presets = ProjectFixture.repositoryRoot.appendingPathComponent("examples/rest")

  /// A scenario holding the preset project and only the sync `name`, every API at `server`.
  func preset(_ name: String, server: ProtocolServer, users: [(Int, String, String, String)]) throws -> Scenario {
    try Scenario.restPreset(name, server: server, secret: Self.secret, users: users)
  }

  static let users = [
    (1, "ada@example.com", "Ada", "pro"), (2, "Grace@Example.com", "Grace", "free"), (3, "bad@", "Bad", "free"),
  ]

  /// The secret appears in no file Backflow wrote.
  func expectNoSecretStored(_ scenario: Scenario) throws {
    for file in [".backflow/state.db", "last.plan"] {
      let bytes = try Data(contentsOf: scenario.directory.appendingPathComponent(file))
      #expect(bytes.range(of: Data(Self.secret.utf8)) == nil, "\(file) holds a secret")
    }
  }

  typealias Stand<State> = APIStandIn<State>

  static func hubspotAPI() -> APIStandIn<HubSpotStandIn> { HubSpotStandIn.api(token: secret) }

  // MARK: HubSpot

  @Test func hubspotContacts() async throws {
    let api = Self.hubspotAPI()
    try await withAPIServer({ api($0) }) { server in
      let scenario = try preset("hubspot_contacts", server: server, users: Self.users)
      let run = try await scenario.apply().run("hubspot_contacts")
      #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
      #expect(try scenario.openState().failures(runID: run.id).map(\.reason) == ["Email address bad@ is invalid"])
      #expect(api.current.contacts["grace@example.com"] == .object([("firstname", .string("Grace")), ("plan", .string("free"))]))
      // HubSpot's ids are kept, matched to Grace's row although HubSpot lower-cased her email.
      let kept = try scenario.snapshot("hubspot_contacts").map { [$0.key, $0.destinationID] }
      #expect(kept == [["1", "\"501\""], ["2", "\"502\""]])

      try scenario.sql("update users set plan = 'team' where user_id = 1")
      let change = try await scenario.apply().run("hubspot_contacts")
      #expect(change.succeeded == OperationCounts(change: 1) && api.current.ids["ada@example.com"] == "501")
      try scenario.sql("delete from users where user_id = 2")
      let removal = try await scenario.apply().run("hubspot_contacts")
      #expect(removal.succeeded == OperationCounts(remove: 1) && api.current.contacts.keys.sorted() == ["ada@example.com"])
      let archive = try #require(server.requests.last { $0.path.hasSuffix("/batch/archive") })
      #expect(archive.body == .object([("inputs", .array([.object([("id", .string("502"))])]))]))
      #expect(!server.requests.contains { $0.path.hasSuffix("/batch/read") }, "kept ids need no look-up")
      #expect(try scenario.snapshot("hubspot_contacts").map(\.destinationID) == ["\"501\""])
      try expectNoSecretStored(scenario)
    }
  }

  // MARK: Braze

  /// braze.com/docs/api/endpoints/user_data/post_user_track/: 201 with `message: success` and,
  /// for objects it rejected, `errors: [{type, input_array, index}]`.
  static let braze = Stand([JSONValue]()) { received, request in
    guard request.header("Authorization") == "Bearer \(secret)" else {
      return ProtocolServer.Answer(status: 401, json: .object([("message", .string("Invalid API Key"))]))
    }
    var errors: [JSONValue] = []
    for array in ["attributes", "events"] {
      for (index, item) in (request.body?[array]?.items ?? []).enumerated() {
        guard case .string? = item["external_id"] else {
          errors.append(.object([("type", .string("'external_id' must be a string")), ("input_array", .string(array)), ("index", .int(index))]))
          continue
        }
        if item["email"] == .string("bad@") {
          errors.append(.object([("type", .string("'email' is not a valid email")), ("input_array", .string(array)), ("index", .int(index))]))
          continue
        }
        received.append(item)
      }
    }
    var body: [(String, JSONValue)] = [("message", .string("success"))]
    if !errors.isEmpty { body.append(("errors", .array(errors))) }
    return ProtocolServer.Answer(status: 201, headers: [("X-RateLimit-Remaining", "49999")], json: .object(body))
  }

  @Test func brazeAttributesAndEvents() async throws {
    let api = Self.braze
    try await withAPIServer({ api($0) }) { server in
      let scenario = try preset("braze_users", server: server, users: Self.users)
      scenario.write(["syncs/braze_signups.yaml": try String(contentsOf: Self.presets.appendingPathComponent("syncs/braze_signups.yaml"), encoding: .utf8)])
      let outcomes = try await scenario.apply()
      let users = try #require(outcomes.first { $0.name == "braze_users" }?.run)
      let events = try #require(outcomes.first { $0.name == "braze_signups" }?.run)
      #expect(users.succeeded == OperationCounts(add: 2) && users.failed == OperationCounts(add: 1))
      #expect(try scenario.openState().failures(runID: users.id).map(\.reason) == ["'email' is not a valid email"])
      #expect(events.succeeded == OperationCounts(add: 3))
      #expect(
        api.current.contains(
          .object([
            ("external_id", .string("1")), ("email", .string("ada@example.com")), ("first_name", .string("Ada")),
            ("plan", .string("pro")),
          ])))
      #expect(
        api.current.contains(
          .object([
            ("external_id", .string("3")), ("name", .string("signed_up")), ("time", .string("2026-03-03T09:30:00Z")),
            ("properties", .object([("plan", .string("free"))])),
          ])))
      #expect(api.current.count == 5)
      try expectNoSecretStored(scenario)
    }
  }

  // MARK: Slack

  /// api.slack.com/messaging/webhooks: 200 `ok`, or a plain-text error such as 400
  /// `invalid_payload` and 404 `no_service`.
  static let slack = Stand([String]()) { messages, request in
    guard request.path == "/services/T0001/B0001/\(secret)" else { return ProtocolServer.Answer(status: 404, body: "no_service") }
    guard case let .string(text)? = request.body?["text"], !text.contains("Bad") else {
      return ProtocolServer.Answer(status: 400, body: "invalid_payload")
    }
    messages.append(text)
    return ProtocolServer.Answer(status: 200, body: "ok")
  }

  @Test func slackWebhookMessages() async throws {
    let api = Self.slack
    try await withAPIServer({ api($0) }) { server in
      let scenario = try preset("slack_signups", server: server, users: Self.users)
      let run = try await scenario.apply().run("slack_signups")
      #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
      #expect(try scenario.openState().failures(runID: run.id).map(\.reason) == ["HTTP 400: invalid_payload"])
      #expect(api.current == ["New signup: Ada on pro", "New signup: Grace on free"])
      try expectNoSecretStored(scenario)

      // Requests are part of the applied config: an edit shows in the plan, the path as written.
      let file = scenario.directory.appendingPathComponent("syncs/slack_signups.yaml")
      let written = try String(contentsOf: file, encoding: .utf8)
      scenario.write(["syncs/slack_signups.yaml": written.replacingOccurrences(of: "New signup:", with: "Welcome")])
      let edited = try scenario.plan().sync("slack_signups")
      #expect(edited.configAction == .update)
      #expect(
        edited.configChanges.map(\.path) == ["requests.track.body.text"]
          && edited.configChanges.first?.after == .string("Welcome {{ record.fields.first_name }} on {{ record.fields.plan }}"))
      let stored = try #require(try scenario.openState().syncs().first { $0.name == "slack_signups" }?.config)
      #expect(stored.contains("/services/${SLACK_WEBHOOK_KEY}"), "\(stored)")
    }
  }

  // MARK: Salesforce

  /// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm
  /// (200, one `{id, success, errors, created}` per record in request order),
  /// .../resources_composite_sobjects_collections_delete.htm (`DELETE …/composite/sobjects?ids=`,
  /// 200 with one `{id, success, errors}` per id in order, `errors[].statusCode` for an id it
  /// cannot delete), and the OAuth 2.0 client credentials flow's token endpoint.
  static let salesforce = Stand([String: JSONValue]()) { contacts, request in
    if request.path == "/services/oauth2/token" {
      guard request.text.contains("client_id=3MVG9-client"), request.text.contains("client_secret=\(secret)") else {
        return ProtocolServer.Answer(status: 400, json: .object([("error", .string("invalid_client"))]))
      }
      return ProtocolServer.Answer(status: 200, json: .object([("access_token", .string("00D-token")), ("token_type", .string("Bearer"))]))
    }
    guard request.header("Authorization") == "Bearer 00D-token" else {
      return ProtocolServer.Answer(status: 401, json: .array([.object([("errorCode", .string("INVALID_SESSION_ID"))])]))
    }
    // Records by external id; each holds its Salesforce id under "Id".
    if request.method == "DELETE", request.path == "/services/data/v60.0/composite/sobjects" {
      let query = URLComponents(string: "?" + request.query)?.queryItems ?? []
      let ids = (query.first { $0.name == "ids" }?.value ?? "").split(separator: ",").map(String.init)
      let results: [JSONValue] = ids.map { id in
        guard let email = contacts.first(where: { $0.value["Id"] == .string(id) })?.key else {
          return .object([
            ("success", .bool(false)),
            ("errors", .array([.object([("statusCode", .string("INVALID_CROSS_REFERENCE_KEY")), ("message", .string("invalid cross reference id")), ("fields", .array([]))])])),
          ])
        }
        contacts[email] = nil
        return .object([("id", .string(id)), ("success", .bool(true)), ("errors", .array([]))])
      }
      return ProtocolServer.Answer(status: 200, json: .array(results))
    }
    let results: [JSONValue] = (request.body?["records"]?.items ?? []).map { record in
      guard case let .string(email)? = record["Email__c"], email.contains(".") else {
        return .object([
          ("success", .bool(false)),
          ("errors", .array([.object([("statusCode", .string("INVALID_EMAIL_ADDRESS")), ("message", .string("Email: invalid email address")), ("fields", .array([.string("Email__c")]))])])),
        ])
      }
      let created = contacts[email] == nil
      let id = contacts[email]?["Id"] ?? .string("003\(contacts.count + 1)")
      var stored = record
      stored.set(id, at: ["Id"])
      contacts[email] = stored
      return .object([("id", id), ("success", .bool(true)), ("errors", .array([])), ("created", .bool(created))])
    }
    return ProtocolServer.Answer(status: 200, json: .array(results))
  }

  @Test func salesforceContacts() async throws {
    let api = Self.salesforce
    try await withAPIServer({ api($0) }) { server in
      let scenario = try preset("salesforce_contacts", server: server, users: Self.users)
      let run = try await scenario.apply().run("salesforce_contacts")
      #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
      #expect(try scenario.openState().failures(runID: run.id).map(\.reason) == ["Email: invalid email address"])
      #expect(
        api.current["ada@example.com"]
          == .object([
            ("attributes", .object([("type", .string("Contact"))])), ("Email__c", .string("ada@example.com")),
            ("FirstName", .string("Ada")), ("LastName", .string("Warehouse")), ("Id", .string("0031")),
          ]))
      #expect(try scenario.snapshot("salesforce_contacts").map(\.destinationID) == ["\"0031\"", "\"0032\""])
      try scenario.sql(
        "insert into users values (4, 'katherine@example.com', 'Katherine', 'pro', '2026-03-04T09:30:00Z'), "
          + "(5, 'annie@example.com', 'Annie', 'team', '2026-03-05T09:30:00Z')")
      #expect(try await scenario.apply().run("salesforce_contacts").succeeded == OperationCounts(add: 2))
      // Both removed rows go in one DELETE, their kept ids joined in the query.
      try scenario.sql("delete from users where user_id in (1, 2)")
      let removal = try await scenario.apply().run("salesforce_contacts")
      #expect(removal.succeeded == OperationCounts(remove: 2))
      #expect(api.current.keys.sorted() == ["annie@example.com", "katherine@example.com"])
      let deletes = server.requests.filter { $0.method == "DELETE" }
      let query = URLComponents(string: "?" + (deletes.first?.query ?? ""))?.queryItems ?? []
      #expect(deletes.count == 1 && deletes.first?.path == "/services/data/v60.0/composite/sobjects")
      #expect(query.map(\.name) == ["ids", "allOrNone"] && query.first?.value == "0031,0032", "\(deletes.map(\.query))")
      #expect(server.requests.filter { $0.path == "/services/oauth2/token" }.count == 3, "one token per run")
      try expectNoSecretStored(scenario)
    }
  }

  // MARK: Customer.io

  /// customer.io/docs/api/track/: `PUT /api/v1/customers/{identifier}` and `DELETE` of the same,
  /// 200 with `{}`, HTTP basic auth with the site id and API key; 400 `{"meta":{"error":…}}`.
  static let customerio = Stand([String: JSONValue]()) { people, request in
    let basic = "Basic " + Data("site-7:\(secret)".utf8).base64EncodedString()
    guard request.header("Authorization") == basic else { return ProtocolServer.Answer(status: 401, body: "Unauthorized") }
    let id = String(request.path.split(separator: "/").last ?? "")
    if request.method == "DELETE" {
      people[id] = nil
      return ProtocolServer.Answer(status: 200, body: "{}")
    }
    if request.body?["email"] == .string("bad@") {
      return ProtocolServer.Answer(status: 400, json: .object([("meta", .object([("error", .string("invalid email"))]))]))
    }
    people[id] = request.body
    return ProtocolServer.Answer(status: 200, body: "{}")
  }

  @Test func customerioPeople() async throws {
    let api = Self.customerio
    try await withAPIServer({ api($0) }) { server in
      let scenario = try preset("customerio_people", server: server, users: Self.users)
      let run = try await scenario.apply().run("customerio_people")
      #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
      #expect(
        api.current["2"]
          == .object([("email", .string("Grace@Example.com")), ("first_name", .string("Grace")), ("plan", .string("free"))]))
      try scenario.sql("delete from users where user_id = 2")
      let removal = try await scenario.apply().run("customerio_people")
      #expect(removal.succeeded == OperationCounts(remove: 1) && api.current.keys.sorted() == ["1"])
      try expectNoSecretStored(scenario)
    }
  }

  // MARK: Mailchimp

  /// mailchimp.com/developer/marketing/api/lists/batch-subscribe-or-unsubscribe/ (200 with
  /// `new_members`, `errors: [{email_address, error, error_code}]`) and the archive of a list
  /// member (204); 401 as an RFC 7807 problem document.
  static let mailchimp = Stand([String: JSONValue]()) { members, request in
    let basic = "Basic " + Data("backflow:\(secret)".utf8).base64EncodedString()
    guard request.header("Authorization") == basic else {
      return ProtocolServer.Answer(status: 401, json: .object([("title", .string("API Key Invalid")), ("status", .int(401))]))
    }
    if request.method == "DELETE" {
      let email = String(request.path.split(separator: "/").last ?? "").lowercased()
      return members.removeValue(forKey: email) == nil
        ? ProtocolServer.Answer(status: 404, json: .object([("title", .string("Resource Not Found")), ("status", .int(404))]))
        : ProtocolServer.Answer(status: 204, body: "")
    }
    var created: [JSONValue] = []
    var errors: [JSONValue] = []
    for member in request.body?["members"]?.items ?? [] {
      guard case let .string(email)? = member["email_address"], email.contains(".") else {
        errors.append(
          .object([
            ("email_address", member["email_address"] ?? .null),
            ("error", .string("bad@ looks fake or invalid, please enter a real email address.")),
            ("error_code", .string("ERROR_GENERIC")),
          ]))
        continue
      }
      members[email.lowercased()] = member
      created.append(.object([("email_address", .string(email.lowercased())), ("status", .string("subscribed"))]))
    }
    return ProtocolServer.Answer(
      status: 200,
      json: .object([
        ("new_members", .array(created)), ("updated_members", .array([])), ("errors", .array(errors)),
        ("total_created", .int(created.count)), ("error_count", .int(errors.count)),
      ]))
  }

  @Test func mailchimpMembers() async throws {
    let api = Self.mailchimp
    try await withAPIServer({ api($0) }) { server in
      let scenario = try preset("mailchimp_members", server: server, users: Self.users)
      let run = try await scenario.apply().run("mailchimp_members")
      #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
      #expect(
        try scenario.openState().failures(runID: run.id).map(\.reason) == [
          "bad@ looks fake or invalid, please enter a real email address."
        ])
      #expect(
        api.current["grace@example.com"]
          == .object([
            ("email_address", .string("Grace@Example.com")), ("status", .string("subscribed")),
            ("merge_fields", .object([("FNAME", .string("Grace"))])),
          ]))
      try scenario.sql("delete from users where user_id = 2")
      let removal = try await scenario.apply().run("mailchimp_members")
      #expect(removal.succeeded == OperationCounts(remove: 1) && api.current.keys.sorted() == ["ada@example.com"])
      try expectNoSecretStored(scenario)
    }
  }
}
