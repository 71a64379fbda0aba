import BackflowConfig
import BackflowSQLite
import BackflowTestSupport
import Foundation
import Testing

/// `backflow plan --show-requests` on a rest destination: the first request of each operation,
/// rendered from the first planned row, with nothing sent and every secret masked.
@Suite("backflow plan --show-requests")
struct PlanShowRequestsTests {
  static let secret = "s3cret-client-d41d"
  static let project = """
    version: 1
    sources:
      warehouse: { type: sqlite, path: warehouse.db }
    destinations:
      hubspot:
        type: rest
        url: "http://127.0.0.1:9"
        auth: { oauth2: { token_url: "http://127.0.0.1:9/token", client_id: backflow, client_secret: "${SECRET}" } }
        headers: { X-Api-Key: "${SECRET}" }

    """
  static let sync = """
    model: users
    destination: hubspot
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: properties.firstname }
    requests:
      upsert:
        method: POST
        path: /crm/v3/objects/{{ object }}/batch/upsert
        body: { inputs: { $each: records, $item: { id: "{{ record.key }}", properties: "{{ record.fields.properties }}" } } }

    """

  @Test func theFirstRequestIsRenderedWithoutSendingAndSecretsMasked() throws {
    try withTemporaryDirectory { directory in
      ProjectFixture.write(["backflow.yaml": Self.project, "syncs/users_to_crm.yaml": Self.sync], into: directory)
      try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).execute(
        """
        create table users (user_id integer, email text, first_name text);
        insert into users values (1, 'ada@example.com', 'Ada'), (2, 'grace@example.com', 'Grace');
        """)
      let result = try BackflowProcess.run(
        ["plan", "--show-requests"], in: directory, environment: ["SECRET": Self.secret])
      #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
      let output = result.stdout
      #expect(output.contains("Requests (the first of each operation, rendered without sending; secrets masked):"), "\(output)")
      #expect(output.contains("users_to_crm, added row 1:"))
      #expect(output.contains("POST http://127.0.0.1:9/crm/v3/objects/contacts/batch/upsert"), "\(output)")
      #expect(output.contains("X-Api-Key: [redacted]"))
      #expect(output.contains(#"{"inputs":[{"id":"ada@example.com","properties":{"firstname":"Ada"}}]}"#), "\(output)")
      // Port 9 refuses connections: had anything been sent, a token request among them, the
      // preview would say it cannot render.
      #expect(!output.contains("cannot render") && !output.contains(Self.secret))
      // Without --show-rows the plan itself lists no keys.
      #expect(!output.contains("      + 1, 2"))
    }
  }

  /// A removed row has left the model: its request is rendered from the snapshot the last apply
  /// recorded, keyed by its match value, and nothing is sent.
  @Test func aRemovedRowsRequestIsRenderedFromTheSnapshot() async throws {
    let api: @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer = { request in
      guard request.path == "/token" else { return ProtocolServer.Answer(status: 200, json: .object([])) }
      return ProtocolServer.Answer(
        status: 200, json: .object([("access_token", .string("t0k")), ("token_type", .string("bearer")), ("expires_in", .int(3600))]))
    }
    try await withAPIServer(api) { server in
      try await withTemporaryDirectory { directory in
        let project = Self.project.replacingOccurrences(of: "http://127.0.0.1:9", with: server.url)
        let sync = Self.sync + """
            delete:
              method: DELETE
              path: "/contacts/{{ record.key | url_encode }}"
              batch: 1
              headers: { X-Key: "${SECRET}" }
          on_delete: delete

          """
        ProjectFixture.write(["backflow.yaml": project, "syncs/users_to_crm.yaml": sync], into: directory)
        let warehouse = try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path)
        try warehouse.execute(
          """
          create table users (user_id integer, email text, first_name text);
          insert into users values (1, 'ada@example.com', 'Ada'), (2, 'grace@example.com', 'Grace');
          """)
        let environment = ["SECRET": Self.secret]
        let applied = try await onThreadOfItsOwn {
          try BackflowProcess.run(["apply", "--auto-approve"], in: directory, environment: environment)
        }
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        try warehouse.execute("delete from users where user_id = 2")
        let sent = server.requests.count
        let result = try await onThreadOfItsOwn {
          try BackflowProcess.run(["plan", "--show-requests"], in: directory, environment: environment)
        }
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let output = result.stdout
        #expect(output.contains("users_to_crm, removed row 2:"), "\(output)")
        #expect(output.contains("DELETE \(server.url)/contacts/grace%40example.com"), "\(output)")
        #expect(output.contains("X-Key: [redacted]") && !output.contains(Self.secret), "\(output)")
        #expect(!output.contains("cannot render"), "\(output)")
        #expect(server.requests.count == sent)
      }
    }
  }
}
