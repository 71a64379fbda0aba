import BackflowConfig
import BackflowEngine
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Request templates with blocks and `record.row`, and model columns declared `json:`, applied to
/// a local API server, a JSON Lines file and a SQLite table.
@Suite("request templates, the model row and JSON columns")
struct RESTTemplateApplyTests {
  /// A warehouse whose users have a `tags` column of JSON text (`json: [tags]` on the model),
  /// and user 3's is not JSON.
  func scenario(_ destinations: String, sync: String, json: String = "json: [tags]\n") throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    scenario.useDestinations(destinations)
    scenario.write([
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\n\(json)query: select user_id, email, first_name, plan, tags from users\n",
      "syncs/users_to_crm.yaml": sync,
    ])
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "grace@example.com", "Grace", "free"), (3, "bad@example.com", "Bad", "free")])
    try scenario.sql("alter table users add column tags text")
    try scenario.sql(
      """
      update users set tags = '["vip","beta"]' where user_id = 1;
      update users set tags = '[]' where user_id = 2;
      update users set tags = '["unclosed"' where user_id = 3;
      """)
    return scenario
  }

  /// A sync of users to `destination` by email, with `fields` (`from: to` pairs) and `rest`.
  static func sync(to destination: String, _ fields: [(String, String)], _ rest: String = "") -> String {
    "model: users\ndestination: \(destination)\nobject: contacts\nmatch: { email: email }\nmappings:\n"
      + fields.map { "  - { from: \($0), to: \($1) }\n" }.joined() + rest
  }

  static let restSync = sync(to: "api", [("first_name", "profile.name"), ("tags", "profile.tags")]) + """
    requests:
      upsert:
        method: POST
        path: /contacts
        body:
          inputs:
            $each: records
            $item:
              email: "{{ record.key }}"
              profile: "{{ record.fields.profile }}"
              labels: "{% for t in record.row.tags %}{{ t | upcase }}{% unless forloop.last %};{% endunless %}{% else %}none{% endfor %}"
              tier: "{% if record.row.plan == 'pro' %}gold{% else %}basic{% endif %}"
          summary: "{% for r in records %}{{ r.row.first_name }}{% if forloop.last %}.{% else %}, {% endif %}{% endfor %}"

    """

  @Test func blocksAndTheModelRowRenderAndAJSONColumnTravelsAsAList() async throws {
    try await withAPIServer({ _ in ProtocolServer.Answer(status: 200, json: .object([])) }) { server in
      let scenario = try scenario("  api: { type: rest, url: \"\(server.url)\" }", sync: Self.restSync)
      let run = try await scenario.apply().run()
      let failures = try scenario.openState().failures(runID: run.id)
      // The row whose JSON text does not parse fails alone, saying so.
      #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1), "\(failures)")
      #expect(failures.map(\.key) == ["3"])
      #expect(failures.first?.reason.hasPrefix("column tags is declared json: in the model, but holds text that is not JSON") == true, "\(failures)")
      let request = try #require(server.requests.last)
      #expect(
        request.body
          == .object([
            (
              "inputs",
              .array([
                .object([
                  ("email", .string("ada@example.com")),
                  ("profile", .object([("name", .string("Ada")), ("tags", .array([.string("vip"), .string("beta")]))])),
                  ("labels", .string("VIP;BETA")), ("tier", .string("gold")),
                ]),
                .object([
                  ("email", .string("grace@example.com")),
                  ("profile", .object([("name", .string("Grace")), ("tags", .array([]))])),
                  ("labels", .string("none")), ("tier", .string("basic")),
                ]),
              ])
            ), ("summary", .string("Ada, Grace.")),
          ]), "\(request.text)")

      // `plan` is read only through record.row.plan, and so it is a used column: changing it
      // changes the row.
      try scenario.sql("update users set plan = 'free' where user_id = 1")
      let plan = try scenario.plan()
      #expect(plan.syncs.first?.data?.change == 1, "\(String(describing: plan.syncs.first?.data))")
      _ = try await scenario.apply().run()
      #expect(server.requests.last?.body?["inputs"]?.items?.first?["tier"] == .string("basic"))
    }
  }

  @Test func aJSONLinesFileNestsDottedFieldsAndParsesJSONColumns() async throws {
    let sync = Self.sync(to: "out", [("first_name", "profile.name"), ("tags", "profile.tags"), ("plan", "plan")])
    let scenario = try scenario("  out: { type: file, dir: out }", sync: sync)
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(add: 2) && run.failed == OperationCounts(add: 1))
    let file = scenario.directory.appendingPathComponent("out/contacts.jsonl")
    #expect(
      try String(contentsOf: file, encoding: .utf8)
        == #"""
        {"email":"ada@example.com","profile":{"name":"Ada","tags":["vip","beta"]},"plan":"pro"}
        {"email":"grace@example.com","profile":{"name":"Grace","tags":[]},"plan":"free"}

        """#)
    // Members of a nested object the sync does not write stay as they are.
    try #"""
      {"email":"ada@example.com","profile":{"name":"Ada","tags":["vip","beta"],"since":2019},"plan":"pro","note":"kept"}
      {"email":"grace@example.com","profile":{"name":"Grace","tags":[]},"plan":"free"}

      """#.write(to: file, atomically: true, encoding: .utf8)
    try scenario.sql("update users set first_name = 'Ada L.', tags = '[\"vip\"]' where user_id = 1")
    _ = try await scenario.apply().run()
    let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
    #expect(lines.first == #"{"email":"ada@example.com","profile":{"name":"Ada L.","tags":["vip"],"since":2019},"plan":"pro","note":"kept"}"#)
  }

  @Test func aTableGetsAJSONColumnsTextAsItIs() async throws {
    let sync = Self.sync(to: "local", [("first_name", "first_name"), ("tags", "tier")])
    let scenario = try scenario("  local: { type: sqlite, path: crm.db }", sync: sync)
    let run = try await scenario.apply().run()
    #expect(run.succeeded == OperationCounts(add: 3))
    #expect(
      try scenario.crmRows("select email, tier from contacts order by email") == [
        ["ada@example.com", #"["vip","beta"]"#], ["bad@example.com", #"["unclosed""#], ["grace@example.com", "[]"],
      ])
  }

  @Test func planReportsUnknownJSONAndRowColumnsWhereTheyAreNamed() throws {
    let sync = Self.restSync.replacingOccurrences(of: "record.row.plan ==", with: "record.row.plna ==")
    let scenario = try scenario(
      "  api: { type: rest, url: \"http://127.0.0.1:9\" }", sync: sync, json: "json: [tags, payload]\n")
    let plan = try scenario.plan(expectSuccess: false)
    let errors = plan.diagnostics.sorted.map(\.description)
    #expect(
      errors.contains(
        "syncs/users_to_crm.yaml:19:17: error: requests.upsert reads record.row.plna, which model users does not return; "
          + "did you mean \"plan\"?; its columns are user_id, email, first_name, plan, tags"), "\(errors)")
    #expect(
      errors.contains(
        "syncs/models/users.yaml:3:14: error: json names column \"payload\", which model users does not return; its columns "
          + "are user_id, email, first_name, plan, tags"), "\(errors)")
  }
}
