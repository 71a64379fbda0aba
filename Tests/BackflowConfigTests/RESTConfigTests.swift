import BackflowConfig
import BackflowTestSupport
import Testing

/// A rest destination's settings and a sync's `requests:`, as `backflow validate` reads them.
@Suite("rest config")
struct RESTConfigTests {
  static let project = """
    version: 1
    sources:
      warehouse: { type: sqlite, path: warehouse.db }
    destinations:
      api: { type: http, url: "http://127.0.0.1:8080" }
      hubspot:
        type: rest
        url: https://api.hubapi.com
        auth: { bearer: "${HUBSPOT_TOKEN}" }
        rate: 100/10s

    """

  static func sync(_ requests: String, destination: String = "hubspot", extra: String = "on_delete: delete\n") -> String {
    """
    model: users
    destination: \(destination)
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: properties.firstname }
    \(extra)requests:
    \(requests)
    """
  }

  static let upsert = """
      upsert:
        method: POST
        path: /crm/v3/objects/{{ object }}/batch/upsert
        body: { inputs: { $each: records, $item: { id: "{{ record.key }}", properties: "{{ record.fields.properties }}" } } }
        result: { errors: errors, error_key: "context.ids[0]", error_message: message }

    """

  func errors(_ files: [String: String]) -> [String] {
    let loaded = ProjectFixture.load(
      ["backflow.yaml": Self.project].merging(files) { $1 }, environment: ["HUBSPOT_TOKEN": "pat-secret"])
    return loaded.diagnostics.sorted.filter { $0.severity == .error }.map(\.description)
  }

  @Test func aCompleteSyncValidates() {
    let delete = """
        delete:
          method: POST
          path: /crm/v3/objects/{{ object }}/batch/archive
          body: { inputs: { $each: records, $item: { id: "{{ record.key }}" } } }

      """
    #expect(errors(["syncs/s.yaml": Self.sync(Self.upsert + delete)]) == [])
  }

  @Test func everyOperationTheSyncSendsNeedsARequest() {
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert)]) == [
        "syncs/s.yaml:9:3: error: requests has no delete, which this sync sends (on_delete: delete); add requests.delete"
      ])
    #expect(
      errors(["syncs/s.yaml": Self.sync("", extra: "").replacingOccurrences(of: "requests:\n", with: "")]) == [
        "syncs/s.yaml:2:14: error: destination hubspot is rest, so the sync says which request each operation sends: "
          + "add requests: with upsert (docs/rest.md)"
      ])
  }

  static let archiveByID = """
      delete:
        method: POST
        path: /crm/v3/objects/{{ object }}/batch/archive
        body: { inputs: { $each: records, $item: { id: "{{ record.destination_id }}" } } }

    """

  static let read = """
      read:
        method: POST
        path: /crm/v3/objects/{{ object }}/batch/read
        body: { idProperty: email, inputs: { $each: records, $item: { id: "{{ record.key }}" } } }
        result: { records: results, key: properties.email, id: id, keys: case_insensitive }

    """

  @Test func keptIDsReadAndListValidate() {
    let upsert = Self.upsert.replacingOccurrences(
      of: "error_message: message }", with: "error_message: message, ids: results, id_key: properties.email, id: id }")
    let list = """
        list:
          method: GET
          path: /crm/v3/objects/{{ object }}
          query: { limit: "100", after: "{{ cursor }}" }
          result: { records: results, key: properties.email, id: id, next: paging.next.after }

      """
    #expect(errors(["syncs/s.yaml": Self.sync(upsert + Self.archiveByID + Self.read + list)]) == [])
    #expect(errors(["syncs/s.yaml": Self.sync(upsert + Self.archiveByID + list, extra: "mode: mirror\n")]) == [])
    let offset = """
        list:
          method: GET
          path: /people
          offset: { param: offset, size_param: count, size: 500 }
          result: { records: members, key: email_address }

      """
    #expect(errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID + offset, extra: "mode: mirror\n")]) == [])
  }

  @Test func anIDNoRequestGivesIsWarnedAbout() {
    let loaded = ProjectFixture.load(
      ["backflow.yaml": Self.project, "syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID)],
      environment: ["HUBSPOT_TOKEN": "pat-secret"])
    #expect(
      loaded.diagnostics.sorted.map(\.description) == [
        "syncs/s.yaml:14:3: warning: requests.delete reads record.destination_id, but no request gives ids: add id: to "
          + "the result: of the request that makes the records, or declare read: with result.id to look them up; until "
          + "then each record it sends fails"
      ])
    #expect(errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID + Self.read)]) == [])
  }

  @Test func mirrorNeedsAListRequest() {
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID, extra: "mode: mirror\n")]) == [
        "syncs/s.yaml:7:7: error: mode mirror's first run deletes the records absent from the model, so it lists them: "
          + "add requests.list (a paginated request, docs/rest.md), or use mode: upsert with on_delete: delete"
      ])
  }

  @Test func readingRequestsSayWhatTheyLack() {
    let noPaging = """
        list:
          method: GET
          path: /contacts
          result: { records: results, key: email }

      """
    let twoPagings = """
        list:
          method: GET
          path: /contacts
          offset: { param: offset, size: 100 }
          result: { records: results, key: email, next_url: next }

      """
    let readPaging = """
        read:
          method: POST
          path: /contacts/read
          result: { records: results, key: email, next: after }

      """
    let cursorInRead = """
        read:
          method: POST
          path: /contacts/read?after={{ cursor }}
          result: { records: results }

      """
    let ids = Self.upsert.replacingOccurrences(of: "error_message: message }", with: "error_message: message, ids: results }")
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID + noPaging)]) == [
        "syncs/s.yaml:19:5: error: requests.list pages by exactly one of result.next (a cursor), result.next_url (a whole "
          + "URL) or offset: { param, size_param, size }"
      ])
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID + twoPagings)]) == [
        "syncs/s.yaml:19:5: error: requests.list pages by exactly one of result.next (a cursor), result.next_url (a whole "
          + "URL) or offset: { param, size_param, size }"
      ])
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID + readPaging)]) == [
        "syncs/s.yaml:21:45: error: requests.read.result.next pages a list request; read takes a batch of keys"
      ])
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert + Self.archiveByID + cursorInRead)]) == [
        "syncs/s.yaml:20:32: error: requests.read.path: unknown variable \"cursor\"; the variables are records, record, "
          + "object, sync, sync_id, run_id, batch, operation",
        "syncs/s.yaml:21:13: error: requests.read.result is missing required key \"key\"",
      ])
    #expect(
      errors(["syncs/s.yaml": Self.sync(ids + Self.archiveByID)]) == [
        "syncs/s.yaml:13:13: error: requests.upsert.result.ids needs id_key (the record's key in one of them) and id "
          + "(the API's own id)"
      ])
  }

  @Test func unknownVariablesAndFiltersArePointedAtWithASuggestion() {
    let requests = """
        upsert:
          method: POST
          path: /contacts/{{ objct }}
          body: { email: "{{ record.key | downcse }}" }

      """
    #expect(
      errors(["syncs/s.yaml": Self.sync(requests, extra: "")]) == [
        "syncs/s.yaml:10:21: error: requests.upsert.path: unknown variable \"objct\"; did you mean \"object\"?; the "
          + "variables are records, record, object, sync, sync_id, run_id, batch, operation",
        "syncs/s.yaml:11:21: error: requests.upsert.body.email: unknown filter \"downcse\"; did you mean \"downcase\"?; "
          + "filters are \(MappingTemplate.filterNames.joined(separator: ", "))",
      ])
  }

  @Test func resultPathsAndBodiesThatCannotWorkAreRefused() {
    let requests = """
        upsert:
          method: POST
          path: /x
          body: { inputs: { $each: rows, $item: {} } }
          result: { errors: "errors[", error_key: id }

      """
    #expect(
      errors(["syncs/s.yaml": Self.sync(requests, extra: "")]) == [
        "syncs/s.yaml:11:30: error: requests.upsert.body.inputs.$each must be records, the request's records",
        "syncs/s.yaml:12:23: error: requests.upsert.result.errors: \"[\" is not closed; write [0], [*] or [field=value]",
      ])
  }

  @Test func recordOutsideEachNeedsARequestOfOneRecord() {
    let requests = """
        upsert:
          method: PUT
          path: /customers/{{ record.key }}
          body: { email: "{{ record.key }}", all: { $each: records, $item: "{{ record.key }}" } }

      """
    #expect(
      errors(["syncs/s.yaml": Self.sync(requests, extra: "")]) == [
        "syncs/s.yaml:10:11: error: requests.upsert.path reads record, which is bound only in a request of one record "
          + "and inside $each; add batch: 1 to requests.upsert, or read records"
      ])
    #expect(errors(["syncs/s.yaml": Self.sync(requests.replacingOccurrences(of: "method: PUT", with: "method: PUT\n    batch: 1"), extra: "")]) == [])
  }

  @Test func requestsAreOnlyForRestDestinations() {
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert, destination: "api", extra: "")]) == [
        "syncs/s.yaml:8:3: error: requests is for rest destinations; destination api is http, which sends its own "
          + "requests: remove requests"
      ])
  }

  @Test func aDottedToIsRefusedWhereFieldsAreColumns() {
    let loaded = ProjectFixture.load([
      "syncs/s.yaml": "model: users\ndestination: local\nobject: contacts\nmatch: { email: email }\nmappings:\n  - { from: first_name, to: profile.first }\n"
    ])
    #expect(
      loaded.diagnostics.sorted.filter { $0.severity == .error }.map(\.description) == [
        "syncs/s.yaml:6:29: error: to \"profile.first\" is dotted, which writes a nested field, but destination local is "
          + "sqlite, whose fields are columns: name a column, or send to a rest or http destination or a JSON Lines file"
      ])
  }

  @Test func aDottedToNestsInJSONLinesFilesOnly() {
    func errors(format: String) -> [String] {
      ProjectFixture.load([
        "backflow.yaml": "version: 1\nsources:\n  warehouse: { type: sqlite, path: warehouse.db }\ndestinations:\n  out: { type: file, dir: out, format: \(format) }\n",
        "syncs/s.yaml": "model: users\ndestination: out\nobject: contacts\nmatch: { email: email }\nmappings:\n  - { from: first_name, to: profile.first }\n",
        "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\ntable: users\n",
      ]).diagnostics.sorted.filter { $0.severity == .error }.map(\.description)
    }
    #expect(errors(format: "jsonl") == [])
    #expect(errors(format: "csv").first?.hasPrefix("syncs/s.yaml:6:29: error: to \"profile.first\" is dotted") == true)
  }

  @Test func blocksInRequestTemplatesAreCheckedWhereTheyAre() {
    let upsert = """
        upsert:
          method: POST
          path: /contacts
          body_text: "{% for r in records %}{{ r.key }}{% if r.fields.missing %}{% endfor %}"
          content_type: text/plain

      """
    #expect(
      errors(["syncs/s.yaml": Self.sync(upsert, extra: "")]) == [
        "syncs/s.yaml:11:50: error: requests.upsert.body_text: {% if %} is not closed; end it with {% endif %}"
      ])
    let typo = """
        upsert:
          method: POST
          path: /contacts
          body: { inputs: "{% for r in records %}{{ r.kee }}{{ rr.key }}{% endfor %}" }

      """
    #expect(
      errors(["syncs/s.yaml": Self.sync(typo, extra: "")]) == [
        "syncs/s.yaml:11:55: error: requests.upsert.body.inputs: unknown variable \"rr\"; did you mean \"r\"?; the "
          + "variables are records, record, object, sync, sync_id, run_id, batch, operation, r, forloop"
      ])
  }

  @Test func aRemovalRequestCannotReadTheRow() {
    let delete = """
        delete:
          method: DELETE
          path: "/contacts/{{ record.row.email | url_encode }}"
          batch: 1

      """
    #expect(
      errors(["syncs/s.yaml": Self.sync(Self.upsert + delete)]) == [
        "syncs/s.yaml:16:11: error: requests.delete reads record.row.email, but delete is sent for rows that left the "
          + "model (or for none): its records have a key and no row; read record.key"
      ])
  }

  @Test(arguments: [
    (["record", "row", "email"], RowReadCase.column("email")),
    (["records", "[]", "row", "plan"], .column("plan")),
    (["records", "0", "row", "plan"], .column("plan")),
    (["record", "row"], .whole),
    (["record"], .whole),
    (["records"], .whole),
    (["records", "[]"], .whole),
    (["record", "key"], .none),
    (["record", "fields", "row"], .none),
    (["records", "size"], .none),
    (["object"], .none),
  ])
  func whatATemplatePathReadsOfTheRow(_ path: [String], _ expected: RowReadCase) throws {
    // Through a template: `{{ record.row.email }}` and the like, in a request of one record.
    let text = "{{ " + path.map { $0 == "[]" ? "first" : $0 }.joined(separator: ".") + " }}"
    let requests = try #require(
      ProjectFixture.load([
        "backflow.yaml": Self.project,
        "syncs/s.yaml": Self.sync("  upsert: { method: POST, path: /x, batch: 1, body: { v: \"\(text)\" } }\n", extra: ""),
      ], environment: ["HUBSPOT_TOKEN": "t"]).project.syncs.first?.requests)
    let reads = requests.rowReads
    switch expected {
    case let .column(name): #expect(reads.named.map(\.name) == [name] && reads.wholeRow == nil, "\(text)")
    case .whole: #expect(reads.named.isEmpty && reads.wholeRow != nil, "\(text)")
    case .none: #expect(reads.named.isEmpty && reads.wholeRow == nil, "\(text)")
    }
  }

  @Test(arguments: [
    ("{{ record.destination_id }}", true),
    ("{% for r in records %}{{ r.destination_id }},{% endfor %}", true),
    ("{{ records.0.destination_id }}", true),
    ("{% if record.destination_id %}x{% endif %}", true),
    ("{{ record.fields.destination_id }}", false),
    ("destination_id: {{ record.key }}", false),
    ("{{ record | json }}", false),
  ])
  func whetherARequestReadsTheKeptID(_ text: String, _ reads: Bool) throws {
    let requests = try #require(
      ProjectFixture.load([
        "backflow.yaml": Self.project,
        "syncs/s.yaml": Self.sync("  upsert: { method: POST, path: /x, batch: 1, body: { v: \"\(text)\" } }\n", extra: ""),
      ], environment: ["HUBSPOT_TOKEN": "t"]).project.syncs.first?.requests)
    #expect(requests.readsDestinationIDs == reads, "\(text)")
  }

  enum RowReadCase: Sendable {
    case column(String)
    case whole
    case none
  }

  @Test func authTakesExactlyOneKindAndRateAWindow() {
    let project = Self.project.replacingOccurrences(
      of: "auth: { bearer: \"${HUBSPOT_TOKEN}\" }\n    rate: 100/10s",
      with: "auth: { bearer: x, query: { name: k, value: v } }\n    rate: 100 per minute")
    #expect(
      errors(["backflow.yaml": project, "syncs/s.yaml": Self.sync(Self.upsert, extra: "")]) == [
        "backflow.yaml:9:5: error: destinations.hubspot.auth: auth has bearer and query; keep one",
        "backflow.yaml:10:11: error: destinations.hubspot.rate: must be requests per time, e.g. 100/10s, 10/s, 500/m or "
          + "1000/h, got \"100 per minute\"",
      ])
  }
}

/// `result:` paths: the hand-written subset, read and fuzzed.
@Suite("result paths")
struct ResultPathTests {
  static let answer =
    (try? JSONValue.parse(
      #"{"errors":[{"context":{"ids":["a@x"]},"message":"bad","input_array":"attributes"},"#
        + #"{"context":{"ids":["b@x"]},"message":"worse","input_array":"events"}],"n":3}"#)) ?? .null

  @Test(arguments: [
    ("errors[0].context.ids[0]", [#""a@x""#]),
    ("errors[*].message", [#""bad""#, #""worse""#]),
    ("errors[input_array=events].context.ids[0]", [#""b@x""#]),
    ("errors[5].message", []),
    ("missing.path", []),
    ("n", ["3"]),
    ("n[0]", []),
  ])
  func pathsFindWhatTheyName(path: String, found: [String]) throws {
    #expect(try ResultPath(path).values(in: Self.answer).map { $0.rendered(compact: true) } == found)
  }

  @Test(arguments: ["", "a..b", ".a", "a.", "a[", "a[x]", "a[0]b", "a[=1]"])
  func malformedPathsSayWhatIsWrong(path: String) {
    #expect(throws: ResultPathError.self) { try ResultPath(path) }
  }

  /// Random texts from the path alphabet never crash the parser, and whatever parses finds only
  /// values that exist.
  @Test func fuzzedPathsParseOrFailCleanly() {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("ab.[]*=0123_x")
    for _ in 0..<5000 {
      let text = String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "a" })
      guard let path = try? ResultPath(text) else { continue }
      #expect(path.description == text)
      _ = path.values(in: Self.answer)
    }
  }
}
