import BackflowConfig
import BackflowDestinations
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// What a rest destination puts in its requests (auth, typed bodies, text bodies, cleared
/// fields) and how it takes answers that are not plain successes, against a real server.
@Suite("REST requests")
struct RESTRequestTests {
  static let secret = "k3y-9f2c-do-not-print"

  /// A project whose model has a number (`score`) and a text column (`tier`), and one sync to
  /// the rest destination `api` at `server`.
  func scenario(server: ProtocolServer, destination: String = "", sync: String) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.environment["API_KEY"] = Self.secret
    scenario.useDestinations(
      """
        api:
          type: rest
          url: "\(server.url)/v2"
          retries: 2
      \(destination)
      """)
    scenario.write([
      "syncs/models/users.yaml":
        "source: warehouse\nprimary_key: user_id\nquery: select user_id, email, first_name, plan as tier, user_id * 10 as score from users\n",
      "syncs/users_to_crm.yaml": sync,
    ])
    try scenario.insert([(1, "a@example.com", "Ada", "pro"), (2, "b@example.com", "Grace", "7")])
    return scenario
  }

  static let ok: @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer = { _ in
    ProtocolServer.Answer(status: 200, body: #"{"ok":true}"#)
  }

  @Test func aBodyKeepsTypesMergesObjectsAndAFailingTemplateFailsItsRecordOnly() async throws {
    try await withAPIServer(Self.ok) { server in
      let scenario = try scenario(
        server: server,
        sync: """
          model: users
          destination: api
          object: users
          match: { user_id: external_id }
          mappings:
            - { from: first_name, to: attributes.first_name }
            - { from: score, to: attributes.score }
            - { from: tier, to: tier }
          requests:
            upsert:
              method: POST
              path: /users/track
              body:
                attributes:
                  $each: records
                  $item:
                    $merge:
                      - { external_id: "{{ record.key | string }}", tier_number: "{{ record.fields.tier | number }}" }
                      - "{{ record.fields.attributes }}"

          """)
      let run = try await scenario.apply().run()
      #expect(run.succeeded == OperationCounts(add: 1) && run.failed == OperationCounts(add: 1))
      let failures = try scenario.openState().failures(runID: run.id)
      #expect(failures.map(\.key) == ["1"])
      #expect(failures.first?.reason.contains("number cannot read \"pro\" as a number") == true, "\(failures)")
      #expect(server.requests.count == 1)
      #expect(server.requests.first?.path == "/v2/users/track")
      #expect(
        server.requests.first?.text
          == #"{"attributes":[{"external_id":"2","tier_number":7,"first_name":"Grace","score":20}]}"#)
    }
  }

  @Test func queryAuthIsSentButNeverShownEvenWhenTheAPIEchoesIt() async throws {
    let api: @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer = { request in
      ProtocolServer.Answer(
        status: 403, json: .object([("message", .string("key \(request.query) has no access to this list"))]))
    }
    try await withAPIServer(api) { server in
      let scenario = try scenario(
        server: server, destination: "    auth: { query: { name: api_key, value: \"${API_KEY}\" } }\n",
        sync: """
          model: users
          destination: api
          object: members
          match: { email: email }
          requests:
            upsert:
              method: PUT
              path: /lists/{{ object }}/{{ record.key | url_encode }}
              query: { skip_merge_validation: "true" }
              batch: 1
              body: { email_address: "{{ record.key }}" }

          """)
      let run = try await scenario.apply().run()
      #expect(run.failed == OperationCounts(add: 2))
      #expect(
        server.requests.map { "\($0.method) \($0.path)?\($0.query)" }.sorted() == [
          "PUT /v2/lists/members/a@example.com?api_key=\(Self.secret)&skip_merge_validation=true",
          "PUT /v2/lists/members/b@example.com?api_key=\(Self.secret)&skip_merge_validation=true",
        ])
      let reasons = try scenario.openState().failures(runID: run.id).map(\.reason)
      // The transport masks the key's value, then the state store's one redaction the whole parameter.
      #expect(reasons.count == 2 && reasons.allSatisfy { $0.hasPrefix("HTTP 403: key api_key=***&skip") }, "\(reasons)")
      for file in [".backflow/state.db", "last.plan"] {
        let bytes = try Data(contentsOf: scenario.directory.appendingPathComponent(file))
        #expect(bytes.range(of: Data(Self.secret.utf8)) == nil, "\(file) holds the key")
      }
    }
  }

  @Test func basicAuthTextBodiesAndClearedFields() async throws {
    try await withAPIServer(Self.ok) { server in
      let scenario = try scenario(
        server: server, destination: "    auth: { basic: { username: backflow, password: \"${API_KEY}\" } }\n",
        sync: """
          model: users
          destination: api
          object: contacts
          match: { email: email }
          mappings:
            - { from: first_name, to: properties.firstname }
          on_delete: clear
          requests:
            upsert:
              method: POST
              path: /contacts
              batch: 1
              body_text: "email={{ record.key | url_encode }}&name={{ record.fields.properties.firstname | url_encode }}"
              content_type: application/x-www-form-urlencoded
            clear_fields:
              method: PATCH
              path: /contacts/{{ record.key | url_encode }}
              batch: 1
              clear_value: ""
              body: { properties: "{{ record.fields.properties }}" }

          """)
      try await scenario.apply()
      let credential = "Basic " + Data("backflow:\(Self.secret)".utf8).base64EncodedString()
      #expect(server.requests.allSatisfy { $0.header("Authorization") == credential })
      #expect(server.requests.map(\.text).sorted() == ["email=a%40example.com&name=Ada", "email=b%40example.com&name=Grace"])
      #expect(server.requests.allSatisfy { $0.header("Content-Type") == "application/x-www-form-urlencoded" })

      try scenario.sql("delete from users where user_id = 2")
      let run = try await scenario.apply().run()
      #expect(run.succeeded == OperationCounts(remove: 1))
      let cleared = try #require(server.requests.last)
      #expect(cleared.method == "PATCH" && cleared.path == "/v2/contacts/b@example.com")
      #expect(cleared.text == #"{"properties":{"firstname":""}}"#)
    }
  }

  @Test func a429WhoseBodySaysTheQuotaIsGoneIsNotRetriedAndAResetHeaderIsHonoured() async throws {
    try await withAPIServer(Self.ok) { server in
      let scenario = try scenario(
        server: server, destination: "    retry: { reset_header: X-RateLimit-Reset, give_up_when: DAILY }\n",
        sync: """
          model: users
          destination: api
          object: users
          match: { email: email }
          requests:
            upsert: { method: POST, path: /users, body: { ids: { $each: records, $item: "{{ record.key }}" } } }

          """)
      // A reset header of 0 seconds: retried at once; then the daily quota: given up.
      server.inject(.answer(status: 429, headers: [("X-RateLimit-Reset", "0")], body: #"{"message":"SECONDLY limit"}"#))
      server.inject(.answer(status: 429, headers: [("Retry-After", "0")], body: #"{"message":"DAILY limit reached"}"#))
      let run = try await scenario.apply().run()
      #expect(run.failed == OperationCounts(add: 2))
      #expect(try scenario.openState().failures(runID: run.id).map(\.reason) == Array(repeating: "HTTP 429: DAILY limit reached", count: 2))
      #expect(server.requests.count == 2)
      // The next run sends them again.
      let next = try await scenario.apply().run()
      #expect(next.succeeded == OperationCounts(add: 2))
    }
  }

  /// A token endpoint as RFC 6749 section 4.4 describes it, and an API that takes only the
  /// token issued last and revokes it after `revokeAfter` requests.
  final class TokenIssuer: @unchecked Sendable {
    private let lock = NSLock()
    private var issued = 0
    private var served = 0
    let expiresIn: Int
    let revokeAfter: Int

    init(expiresIn: Int, revokeAfter: Int) {
      self.expiresIn = expiresIn
      self.revokeAfter = revokeAfter
    }

    var tokensIssued: Int {
      lock.lock()
      defer { lock.unlock() }
      return issued
    }

    func answer(_ request: ProtocolServer.Request) -> ProtocolServer.Answer {
      lock.lock()
      defer { lock.unlock() }
      if request.path == "/oauth/token" {
        let client = "Basic " + Data("backflow-client:\(RESTRequestTests.secret)".utf8).base64EncodedString()
        guard request.header("Authorization") == client, request.text.hasPrefix("grant_type=client_credentials") else {
          return ProtocolServer.Answer(status: 401, json: .object([("error", .string("invalid_client"))]))
        }
        issued += 1
        served = 0
        return ProtocolServer.Answer(
          status: 200,
          json: .object([
            ("access_token", .string("tok-\(issued)-secret")), ("token_type", .string("Bearer")),
            ("expires_in", .int(expiresIn)),
          ]))
      }
      served += 1
      guard request.header("Authorization") == "Bearer tok-\(issued)-secret", served <= revokeAfter else {
        return ProtocolServer.Answer(
          status: 401, json: .object([("message", .string("token \(request.header("Authorization") ?? "") expired"))]))
      }
      return ProtocolServer.Answer(status: 200, body: "{}")
    }
  }

  static let oauth2 = """
        auth:
          oauth2: { token_url: "URL/oauth/token", client_id: backflow-client, client_secret: "${API_KEY}", scope: contacts }

    """

  static let perRecord = """
    model: users
    destination: api
    object: users
    match: { email: email }
    requests:
      upsert: { method: POST, path: /users, batch: 1, body: { email: "{{ record.key }}" } }

    """

  @Test func anOAuth2TokenIsFetchedOnFirstNeedAndRenewedOnceAfterA401() async throws {
    let issuer = TokenIssuer(expiresIn: 3600, revokeAfter: 1)
    try await withAPIServer(issuer.answer) { server in
      let scenario = try scenario(
        server: server, destination: Self.oauth2.replacingOccurrences(of: "URL", with: server.url), sync: Self.perRecord)
      #expect(issuer.tokensIssued == 0, "planning fetched a token")
      let run = try await scenario.apply().run()
      // The second request meets a revoked token: one renewal, then it goes through.
      #expect(run.succeeded == OperationCounts(add: 2))
      #expect(issuer.tokensIssued == 2)
      #expect(server.requests.map(\.path) == ["/oauth/token", "/v2/users", "/v2/users", "/oauth/token", "/v2/users"])
      for file in [".backflow/state.db", "last.plan"] {
        let bytes = try Data(contentsOf: scenario.directory.appendingPathComponent(file))
        #expect(bytes.range(of: Data("-secret".utf8)) == nil && bytes.range(of: Data(Self.secret.utf8)) == nil, "\(file)")
      }
    }
  }

  @Test func aTokenAboutToExpireIsRenewedBeforeItIsUsedAndARefusedOneFailsOnlyOnceRenewed() async throws {
    // expires_in 0: already due for renewal, so every request fetches its own token first.
    let issuer = TokenIssuer(expiresIn: 0, revokeAfter: 0)
    try await withAPIServer(issuer.answer) { server in
      let scenario = try scenario(
        server: server, destination: Self.oauth2.replacingOccurrences(of: "URL", with: server.url), sync: Self.perRecord)
      let run = try await scenario.apply().run()
      // revokeAfter 0: the API refuses every token; each request renews once, then fails.
      #expect(run.failed == OperationCounts(add: 2))
      #expect(issuer.tokensIssued == 4)
      let reasons = try scenario.openState().failures(runID: run.id).map(\.reason)
      #expect(reasons == Array(repeating: "HTTP 401: token [redacted] expired", count: 2), "\(reasons)")
    }
  }

  @Test func backflowTestShowsTheRealRequestAndAnswerWithSecretsMasked() async throws {
    try await withAPIServer(Self.ok) { server in
      let scenario = try scenario(
        server: server, destination: "    auth: { bearer: \"${API_KEY}\" }\n", sync: Self.perRecord)
      let (_, outcome, events) = try await RowTestTests().run(scenario, RowTest(sync: "users_to_crm", key: "1"))
      #expect(outcome == .succeeded)
      #expect(server.requests.count == 1 && server.requests.first?.header("Authorization") == "Bearer \(Self.secret)")
      let request = events.all.compactMap { event -> (String, String, [DestinationTraceEvent.TraceHeader], String)? in
        if case let .request(method, url, headers, body, _) = event { (method, url, headers, body) } else { nil }
      }
      #expect(request.map(\.0) == ["POST"] && request.map(\.1) == ["\(server.url)/v2/users"])
      #expect(request.first?.2.contains(DestinationTraceEvent.TraceHeader(name: "Authorization", value: "Bearer [redacted]")) == true)
      #expect(request.map(\.3) == [#"{"email":"a@example.com"}"#])
      #expect(events.all.contains(.response(status: 200, reason: "OK", body: #"{"ok":true}"#)))
      #expect(!"\(events.all)".contains(Self.secret))
    }
  }
}
