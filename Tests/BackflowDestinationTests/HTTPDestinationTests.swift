import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

@testable import BackflowDestinations

/// The HTTP destination against a real protocol server on 127.0.0.1.
@Suite("HTTPDestination")
struct HTTPDestinationTests {
  static let contacts = DestinationTarget(
    syncName: "users_to_crm", syncID: 7, runID: 42, type: .object, mode: .upsert, object: "contacts",
    matchField: "email", fields: ["first_name", "tier"], concurrency: 4)

  /// Retries that wait milliseconds, so failing paths stay fast.
  static func quickRetries(_ retries: Int) -> RetryPolicy {
    RetryPolicy(retries: retries, baseDelay: .milliseconds(10), maximumDelay: .milliseconds(40))
  }

  /// Runs `body` with a destination for `server`, finished afterwards.
  func withDestination<T>(
    _ server: ProtocolServer, target: DestinationTarget = contacts, url: String? = nil,
    headers: [(String, String)] = [], retries: Int = 3, timeout: Duration = .seconds(10),
    _ body: (HTTPDestination) async throws -> T
  ) async throws -> T {
    let destination = try HTTPDestination(
      baseURL: url ?? server.url, headers: headers, timeout: timeout, target: target, name: "crm_api",
      retryPolicy: Self.quickRetries(retries))
    do {
      let result = try await body(destination)
      try await destination.finish()
      return result
    } catch {
      try? await destination.finish()
      throw error
    }
  }

  static func record(_ email: String, _ name: JSONValue = .string("Ada"), _ tier: JSONValue = .string("pro"))
    -> DestinationRecord
  {
    DestinationRecord(key: .string(email), values: [name, tier])
  }

  static let two = [record("a@example.com"), record("b@example.com", .string("Grace"), .null)]

  // MARK: The request

  @Test("an upsert is one POST to {url}/{object} with the documented body, byte for byte, and headers")
  func upsertRequest() async throws {
    try await withProtocolServer { server in
      let outcomes = try await withDestination(server, headers: [("X-Team", "growth")]) { destination in
        try await destination.prepare()
        return try await destination.send(
          DestinationBatch(
            number: 3, operation: .upsert,
            records: [
              DestinationRecord(
                key: .string("a@example.com"), values: [.string("Ada \"A\" Lovelace"), .int(3)]),
              DestinationRecord(key: .int(17), values: [.null, .double(1.5)]),
            ]))
      }
      #expect(outcomes == [.succeeded, .succeeded])
      let requests = server.requests
      try #require(requests.count == 1)
      let request = requests[0]
      #expect(request.method == "POST")
      #expect(request.path == "/contacts")
      #expect(request.header("Content-Type") == "application/json")
      #expect(request.header("Idempotency-Key") == "7-42-3")
      #expect(request.header("X-Team") == "growth")
      #expect(
        request.text
          == #"{"sync":"users_to_crm","sync_id":7,"run_id":42,"operation":"upsert","match_field":"email","#
          + #""records":[{"key":"a@example.com","fields":{"first_name":"Ada \"A\" Lovelace","tier":3}},"#
          + #"{"key":17,"fields":{"first_name":null,"tier":1.5}}]}"#)
      #expect(
        server.record("17", in: "contacts")?.fields
          == .object([("first_name", .null), ("tier", .double(1.5))]))
    }
  }

  @Test(
    "each operation's body: fields for writes, none for delete and remove, nulls for clear_fields",
    arguments: DestinationOperation.allCases.filter { $0 != .clear })
  func operationBody(operation: DestinationOperation) async throws {
    try await withProtocolServer { server in
      _ = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: operation, records: Self.two))
      }
      let body = try #require(server.requests.first?.body)
      #expect(body["operation"] == .string(operation.rawValue))
      #expect(body["sync"] == .string("users_to_crm"))
      #expect(body["sync_id"] == .int(7))
      #expect(body["run_id"] == .int(42))
      #expect(body["match_field"] == .string("email"))
      guard case let .array(records)? = body["records"] else {
        Issue.record("records is not an array")
        return
      }
      #expect(records.map { $0["key"] } == [.string("a@example.com"), .string("b@example.com")])
      switch operation {
      case .delete, .remove:
        #expect(records.allSatisfy { $0["fields"] == nil })
      case .clearFields:
        #expect(records.allSatisfy { $0["fields"] == .object([("first_name", .null), ("tier", .null)]) })
      default:
        #expect(records[0]["fields"] == .object([("first_name", .string("Ada")), ("tier", .string("pro"))]))
        #expect(records[1]["fields"] == .object([("first_name", .string("Grace")), ("tier", .null)]))
      }
    }
  }

  @Test("a sync without match sends match_field null")
  func nullMatchField() async throws {
    var events = Self.contacts
    events.type = .event
    events.mode = .insert
    events.matchField = nil
    try await withProtocolServer { server in
      _ = try await withDestination(server, target: events) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .track, records: Self.two))
      }
      #expect(server.requests.first?.text.contains(#""match_field":null"#) == true)
    }
  }

  @Test("the Idempotency-Key is {sync_id}-{run_id}-{batch}, the same on every retry; clear is batch 0")
  func idempotencyKeys() async throws {
    try await withProtocolServer { server in
      server.inject(.unavailable(), count: 1)
      try await withDestination(server) { destination in
        for number in [1, 2] {
          _ = try await destination.send(
            DestinationBatch(number: number, operation: .upsert, records: Self.two))
        }
        try await destination.clear()
      }
      #expect(
        server.requests.map { $0.header("Idempotency-Key") } == ["7-42-1", "7-42-1", "7-42-2", "7-42-0"])
    }
  }

  @Test("a base URL's path, trailing slash and query string are kept around the object")
  func baseURLPath() async throws {
    try await withProtocolServer { server in
      _ = try await withDestination(server, url: server.url + "/v1/sync/?tenant=acme") { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(server.requests.map(\.path) == ["/v1/sync/contacts"])
    }
  }

  // MARK: Results

  @Test("records listed in results fail with the server's reason; the others succeed and are stored")
  func perRecordResults() async throws {
    try await withProtocolServer { server in
      server.reject("b@example.com", reason: "invalid email domain")
      let records = Self.two + [Self.record("c@example.com")]
      let outcomes = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: records))
      }
      #expect(outcomes == [.succeeded, .failed("invalid email domain"), .succeeded])
      #expect(
        server.records(in: "contacts").map(\.key) == [.string("a@example.com"), .string("c@example.com")])
    }
  }

  @Test("result keys match by value: 42 and \"42\" are one record; unknown keys are ignored")
  func resultKeysMatchByValue() async throws {
    try await withProtocolServer { server in
      server.inject(
        .answer(
          status: 200, headers: [],
          body:
            #"{"results": [{"key": 42, "error": "quota"}, {"key": "nobody", "error": "x"}, {"key": "7", "error": null}]}"#
        ))
      let records = [
        DestinationRecord(key: .string("42"), values: []), DestinationRecord(key: .int(7), values: []),
        DestinationRecord(key: .int(8), values: []),
      ]
      let outcomes = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .delete, records: records))
      }
      #expect(outcomes == [.failed("quota"), .succeeded, .succeeded])
    }
  }

  @Test("reading results: numbers by value, nested and non-string errors, bodies that are not JSON")
  func readsResults() {
    let records = [
      DestinationRecord(key: .number("42.50"), values: []), DestinationRecord(key: .string("a"), values: []),
      DestinationRecord(key: .int(1), values: []),
    ]
    #expect(
      HTTPAnswer.outcomes(for: records, body: #"{"results":[{"key":42.5,"error":"too big"}]}"#)
        == [.failed("too big"), .succeeded, .succeeded])
    #expect(
      HTTPAnswer.outcomes(
        for: records, body: #"{"results":[{"key":"1","error":{"code":9}},{"key":"a","error":""}]}"#)
        == [.succeeded, .succeeded, .failed(#"{"code":9}"#)])
    for body in ["", "ok", "[1,2]", #"{"results": "none"}"#, #"{"results": [{"error": "no key"}]}"#] {
      #expect(
        HTTPAnswer.outcomes(for: records, body: body) == [.succeeded, .succeeded, .succeeded], "\(body)")
    }
  }

  @Test("failure messages: the JSON error or message, else the body shortened, else the reason phrase")
  func failureMessages() {
    func message(_ body: String) -> String {
      HTTPAnswer.failure(status: 502, reasonPhrase: "Bad Gateway", body: body)
    }
    #expect(message(#"{"error": "upstream down"}"#) == "HTTP 502: upstream down")
    #expect(message(#"{"message": "try later"}"#) == "HTTP 502: try later")
    #expect(message(#"{"error": {"message": "nested", "code": 1}}"#) == "HTTP 502: nested")
    #expect(
      message("<html>\n  <h1>Bad   gateway</h1>\n</html>") == "HTTP 502: <html> <h1>Bad gateway</h1> </html>")
    #expect(message("") == "HTTP 502: Bad Gateway")
    let long = message(String(repeating: "x", count: 5000))
    #expect(long == "HTTP 502: " + String(repeating: "x", count: 200) + "…")
  }

  // MARK: Retries

  @Test("429 with Retry-After: 1 is retried after waiting at least a second")
  func retriesAfterRateLimit() async throws {
    try await withProtocolServer { server in
      server.inject(.tooManyRequests(retryAfter: "1"))
      let clock = ContinuousClock()
      let start = clock.now
      let outcomes = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(clock.now - start >= .seconds(1))
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(server.requests.count == 2)
      #expect(server.records(in: "contacts").count == 2)
    }
  }

  @Test("a Retry-After beyond five minutes is not waited for: the batch fails at once")
  func retryAfterTooLong() async throws {
    try await withProtocolServer { server in
      server.inject(.tooManyRequests(retryAfter: "3600"))
      let outcomes = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      let reason = "HTTP 429: rate limited (Retry-After asks for 60m, longer than the 5m Backflow waits)"
      #expect(outcomes == [.failed(reason), .failed(reason)])
      #expect(server.requests.count == 1)
    }
  }

  @Test("503 twice, then success")
  func retriesUnavailable() async throws {
    try await withProtocolServer { server in
      server.inject(.unavailable(), count: 2)
      let outcomes = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(server.requests.count == 3)
      #expect(server.records(in: "contacts").count == 2)
    }
  }

  @Test("a connection dropped without an answer is retried")
  func retriesDroppedConnection() async throws {
    try await withProtocolServer { server in
      server.inject(.drop, count: 2)
      let outcomes = try await withDestination(server) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(server.requests.count == 3)
      #expect(server.records(in: "contacts").count == 2)
    }
  }

  @Test("a time-out is retried with the same key; a deduplicating server replays its answer")
  func retriesTimeout() async throws {
    try await withProtocolServer(deduplicating: true) { server in
      // Far longer than the time-out, so a test process stalled under load still sees it expire.
      server.inject(.delay(.seconds(20)))
      let outcomes = try await withDestination(server, timeout: .milliseconds(500)) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(server.requests.count == 2)
      #expect(server.replays == 1)
      #expect(server.records(in: "contacts").count == 2)
    }
  }

  @Test("a time-out holds while Swift's shared pool is busy: the answer after it is not taken")
  func timeoutWhileThePoolIsBusy() async throws {
    try await withProtocolServer(deduplicating: true) { server in
      server.inject(.delay(.seconds(2)))
      let outcomes = try await withDestination(server, timeout: .milliseconds(500)) { destination in
        async let sent = destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
        while server.requests.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        // From before the deadline until after the answer: a time-out that needs a pool thread to
        // act would find the answer there first and take it.
        holdTheSharedPool(for: .milliseconds(2500))
        return try await sent
      }
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(server.requests.count == 2)
      #expect(server.replays == 1)
    }
  }

  @Test("an answer larger than 16 MiB is not read; the batch fails without a retry")
  func oversizedAnswer() async throws {
    let body = String(repeating: "x", count: HTTPTransport.maximumAnswerBytes + 1)
    try await withAPIServer({ _ in ProtocolServer.Answer(status: 200, body: body) }) { server in
      let outcomes = try await withDestination(server, retries: 3) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      let reason = "POST /contacts: the answer is larger than 16 MiB"
      #expect(outcomes == [.failed(reason), .failed(reason)])
      #expect(server.requests.count == 1)
    }
  }

  @Test("when every retry fails, every record fails with the status and the server's message")
  func retriesExhausted() async throws {
    try await withProtocolServer { server in
      server.inject(.unavailable("upstream down"), count: 10)
      let outcomes = try await withDestination(server, retries: 2) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(outcomes == [.failed("HTTP 503: upstream down"), .failed("HTTP 503: upstream down")])
      #expect(server.requests.count == 3)
      #expect(server.records(in: "contacts").isEmpty)
    }
  }

  @Test("400 fails the batch at once, without a retry")
  func badRequestIsNotRetried() async throws {
    try await withProtocolServer { server in
      server.inject(.badRequest("unknown field tier"))
      let outcomes = try await withDestination(server, retries: 5) { destination in
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(outcomes == [.failed("HTTP 400: unknown field tier"), .failed("HTTP 400: unknown field tier")])
      #expect(server.requests.count == 1)
    }
  }

  @Test("a refused connection fails the batch, naming the path, not the URL")
  func connectionRefused() async throws {
    let server = try await ProtocolServer.start()
    try await server.stop()
    let outcomes = try await withDestination(server, retries: 2) { destination in
      try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
    }
    #expect(
      outcomes == [
        .failed("POST /contacts: connection refused"), .failed("POST /contacts: connection refused"),
      ])
  }

  // MARK: Secrets

  @Test("a header value never appears in a failure, even when the server echoes it")
  func secretsStayOut() async throws {
    let secret = "s3cr3t-t0ken-0123456789"
    let headers = [("Authorization", "Bearer \(secret)")]
    try await withProtocolServer { server in
      server.inject(
        .answer(status: 401, headers: [], body: #"{"error": "token Bearer \#(secret) expired"}"#))
      server.inject(.answer(status: 500, headers: [], body: "<p>bad key \(secret)</p>"), count: 3)
      server.inject(
        .answer(
          status: 200, headers: [], body: #"{"results":[{"key":"a@example.com","error":"\#(secret)"}]}"#))
      var reasons: [String] = []
      try await withDestination(server, headers: headers, retries: 2) { destination in
        for number in 1...3 {
          for outcome in try await destination.send(
            DestinationBatch(number: number, operation: .upsert, records: Self.two))
          {
            if case let .failed(reason) = outcome { reasons.append(reason) }
          }
        }
      }
      #expect(reasons.count == 5)
      #expect(reasons.first == "HTTP 401: token [redacted] expired")
      #expect(reasons.allSatisfy { !$0.contains(secret) }, "\(reasons)")
      // The secret was sent, all the same.
      #expect(server.requests.first?.header("Authorization") == "Bearer \(secret)")
    }
  }

  @Test("configuration errors name the destination and the header, never a value or the URL")
  func configurationErrors() async throws {
    let cases: [(url: String, headers: [(String, String)], message: String)] = [
      (
        "ftp://files.example.com/?key=SECRETKEY", [],
        "destination crm_api: url must start with http:// or https://"
      ),
      ("not a url SECRETKEY", [], "destination crm_api: url is not a valid URL"),
      ("http:///SECRETKEY", [], "destination crm_api: url has no host"),
      (
        "http://127.0.0.1:9", [("X-Api-Key", "SECRETKEY\r\nInjected: yes")],
        "destination crm_api: header X-Api-Key has a value with a control character (a line break?)"
      ),
      (
        "http://127.0.0.1:9", [("Bad Name", "SECRETKEY")],
        #"destination crm_api: header name "Bad Name" is not a valid HTTP header name"#
      ),
    ]
    for (url, headers, message) in cases {
      let destination = try HTTPDestination(
        baseURL: url, headers: headers, retries: 0, timeout: .seconds(1), target: Self.contacts,
        name: "crm_api")
      let prepared = await #expect(throws: DestinationError.self) { try await destination.prepare() }
      #expect(prepared?.message == message)
      let sent = await #expect(throws: DestinationError.self) {
        try await destination.send(DestinationBatch(number: 1, operation: .upsert, records: Self.two))
      }
      #expect(sent?.message == message)
      #expect(!(sent?.message.contains("SECRETKEY") ?? true))
      try await destination.finish()
    }
  }

  // MARK: The rest of the connector

  @Test("8 batches sent at once are all stored")
  func concurrentSends() async throws {
    try await withProtocolServer { server in
      let outcomes = try await withDestination(server) { destination in
        try await withThrowingTaskGroup(of: [RecordOutcome].self) { group in
          for number in 1...8 {
            group.addTask {
              let records = (1...25).map { Self.record("\(number)-\($0)@example.com") }
              return try await destination.send(
                DestinationBatch(number: number, operation: .upsert, records: records))
            }
          }
          return try await group.reduce(into: []) { $0 += $1 }
        }
      }
      #expect(outcomes.count == 200)
      #expect(outcomes.allSatisfy { $0 == .succeeded })
      #expect(server.records(in: "contacts").count == 200)
      #expect(Set(server.requests.compactMap { $0.header("Idempotency-Key") }).count == 8)
    }
  }

  @Test("clear sends operation clear with no records and empties the object")
  func clear() async throws {
    var list = Self.contacts
    list.type = .list
    list.mode = .addRemove
    list.object = "vip"
    try await withProtocolServer { server in
      try await withDestination(server, target: list) { destination in
        _ = try await destination.send(DestinationBatch(number: 1, operation: .add, records: Self.two))
        #expect(server.records(in: "vip").count == 2)
        try await destination.clear()
      }
      #expect(server.records(in: "vip").isEmpty)
      let body = try #require(server.requests.last?.body)
      #expect(body["operation"] == .string("clear"))
      #expect(body["records"] == .array([]))
    }
  }

  @Test("a clear that fails throws, naming the destination and path")
  func clearFails() async throws {
    try await withProtocolServer { server in
      server.inject(.badRequest("lists cannot be emptied"))
      let error = try await withDestination(server) { destination in
        await #expect(throws: DestinationError.self) { try await destination.clear() }
      }
      #expect(
        error?.message == "destination crm_api: POST /contacts (clear): HTTP 400: lists cannot be emptied")
    }
  }

  @Test("the protocol server's semantics through the destination: update, insert, delete, clear_fields")
  func serverSemantics() async throws {
    try await withProtocolServer { server in
      try await withDestination(server) { destination in
        _ = try await destination.send(
          DestinationBatch(number: 1, operation: .upsert, records: [Self.record("a@example.com")]))
        let updated = try await destination.send(
          DestinationBatch(
            number: 2, operation: .update,
            records: [Self.record("a@example.com", .string("Ada L")), Self.record("nobody@example.com")]))
        #expect(updated == [.succeeded, .failed("not found")])
        _ = try await destination.send(
          DestinationBatch(
            number: 3, operation: .insert,
            records: [Self.record("e@example.com"), Self.record("e@example.com")]))
        #expect(server.records(in: "contacts").count == 3)
        _ = try await destination.send(
          DestinationBatch(
            number: 4, operation: .delete,
            records: [DestinationRecord(key: .string("e@example.com"), values: [])]))
        _ = try await destination.send(
          DestinationBatch(
            number: 5, operation: .clearFields,
            records: [DestinationRecord(key: .string("a@example.com"), values: [])]))
      }
      #expect(
        server.records(in: "contacts")
          == [
            .init(key: .string("a@example.com"), fields: .object([("first_name", .null), ("tier", .null)]))
          ])
    }
  }

  @Test("sweep is refused without the read endpoints: the protocol cannot list records")
  func sweepRefused() async throws {
    try await withProtocolServer { server in
      try await withDestination(server) { destination in
        let error = await #expect(throws: DestinationError.self) { _ = try await destination.sweep() }
        #expect(error?.message.hasPrefix("destination crm_api: ") == true)
        #expect(destination.writesAtFinish == false)
      }
    }
  }

  @Test("a readable destination's sweep lists every page, then deletes the keys absent from the model")
  func readableSweep() async throws {
    try await withProtocolServer(keysPageLimit: 2) { server in
      for key in ["a@example.com", "b@example.com", "x@example.com", "y@example.com", "z@example.com"] {
        server.add(.init(key: .string(key), fields: .object([])), to: "contacts")
      }
      server.add(.init(key: .int(5), fields: .object([])), to: "contacts")
      let destination = try HTTPDestination(
        baseURL: server.url, headers: [("Authorization", "Bearer t0ken")], timeout: .seconds(10),
        target: Self.contacts, name: "crm_api", retryPolicy: Self.quickRetries(1), readable: true)
      let sweep = try await destination.sweep()
      try await sweep.keep([.string("a@example.com"), .string("b@example.com")])
      // 5.0 is the record keyed 5.
      try await sweep.keep([.double(5), .null])
      #expect(try await sweep.finish() == 3)
      try await destination.finish()
      #expect(server.records(in: "contacts").map(\.key) == [.string("a@example.com"), .string("b@example.com"), .int(5)])
      let listing = server.requests.filter { $0.path == "/contacts/keys" }
      #expect(listing.count == 3 && listing.allSatisfy { $0.header("Authorization") == "Bearer t0ken" })
      let deletes = server.requests.filter { $0.path == "/contacts" }
      #expect(deletes.map { $0.body?["operation"] } == [.string("delete")])
      #expect(deletes.map { $0.header("Idempotency-Key") } == ["7-42-sweep-1"])
    }
  }

  @Test("a dotted field is sent nested, and read back from where it was nested")
  func nestedFields() async throws {
    try await withProtocolServer { server in
      var target = Self.contacts
      target.fields = ["properties.first_name", "properties.plan", "tier"]
      let outcomes = try await withDestination(server, target: target) { destination in
        try await destination.send(
          DestinationBatch(
            number: 1, operation: .upsert,
            records: [DestinationRecord(key: .string("a@example.com"), values: [.string("Ada"), .null, .int(2)])]))
      }
      #expect(outcomes == [.succeeded])
      #expect(
        server.requests.first?.body?["records"]
          == .array([
            .object([
              ("key", .string("a@example.com")),
              ("fields", .object([("properties", .object([("first_name", .string("Ada")), ("plan", .null)])), ("tier", .int(2))])),
            ])
          ]))
      let reader = try HTTPDestinationReader(
        baseURL: server.url, headers: [], timeout: .seconds(5), retryPolicy: Self.quickRetries(1), target: target, name: "crm_api")
      let drift = try await reader.compare([
        DestinationRecord(key: .string("a@example.com"), values: [.string("Ada"), .null, .int(2)]),
        DestinationRecord(key: .string("a@example.com"), values: [.string("Grace"), .null, .int(2)]),
      ])
      #expect(drift.first == .same)
      #expect(drift.last != .same)
    }
  }
}
