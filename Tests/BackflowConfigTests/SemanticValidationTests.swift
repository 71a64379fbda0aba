import BackflowConfig
import BackflowConnectors
import BackflowTestSupport
import Testing

private let s = "syncs/s.yaml"

/// Checks that need more than one key: what a destination kind can do, what on_delete can find,
/// which fields are written twice, and templates that do not parse.
let semanticCases: [DiagnosticCase] = [
  DiagnosticCase(
    name: "mirror on an http destination says why and what to use",
    files: [s: "model: users\ndestination: api\nobject: contacts\nmatch: { email: email }\nmode: mirror\n"],
    errors: [
      .error(
        s, 5, 7,
        "destination api is http, which cannot mirror: without the read endpoints the HTTP protocol cannot list "
          + "records, so mirror's first run could not find the ones absent from the model; declare readable: true")
    ]),
  DiagnosticCase(
    name: "mirror on an http destination that declares readable",
    files: [
      "backflow.yaml": ProjectFixture.projectFile.replacingOccurrences(
        of: #"url: "http://127.0.0.1:8080" }"#, with: #"url: "http://127.0.0.1:8080", readable: true }"#),
      s: "model: users\ndestination: api\nobject: contacts\nmatch: { email: email }\nmode: mirror\n",
    ],
    errors: []),
  DiagnosticCase(
    name: "on_delete delete with mode insert",
    files: [s: DiagnosticCase.sync("mode: insert\non_delete: delete", match: "")],
    errors: [
      .error(
        s, 6, 12,
        "on_delete: delete must find the record of a removed row, but mode insert only creates records, without a match key; "
          + "use mode upsert with match, or remove on_delete")
    ]),
  DiagnosticCase(
    name: "on_delete clear on an event sync",
    files: [s: DiagnosticCase.sync("type: event\non_delete: clear", match: "")],
    errors: [.error(s, 6, 12, "on_delete: clear must find the record of a removed row, but event syncs only add events")]),
  DiagnosticCase(
    name: "a mapping to the match field",
    files: [s: DiagnosticCase.sync("mappings:\n  - { from: first_name, to: name }\n  - { from: email, to: email }")],
    errors: [.error(s, 7, 24, "mappings[1].to \"email\" is the match field, which match already writes from column email")]),
  DiagnosticCase(
    name: "unknown template filter at its column",
    files: [s: DiagnosticCase.sync("mappings:\n  - { template: \"{{ email | lowr }}\", to: name }")],
    errors: [.error(s, 6, 18, "mappings[0].template: unknown filter \"lowr\"; did you mean \"lower\"?")]),
  DiagnosticCase(
    name: "template error in a plain scalar",
    files: [s: DiagnosticCase.sync("mappings:\n  - to: name\n    template: Hi {{ email | nope }}")],
    errors: [.error(s, 7, 18, "mappings[0].template: unknown filter \"nope\"")]),
  DiagnosticCase(
    name: "template error in a block scalar names the template's line",
    files: [s: DiagnosticCase.sync("mappings:\n  - to: name\n    template: |\n      Hi\n      {{ email | nope }}")],
    errors: [.error(s, 7, 15, "upcase, upper, url_encode (line 2, column 1 of the template)")]),
  DiagnosticCase(
    name: "template with escapes is reported at its start",
    files: [s: DiagnosticCase.sync("mappings:\n  - { template: \"\\\"{{ email | nope }}\\\"\", to: name }")],
    errors: [.error(s, 6, 17, "mappings[0].template: unknown filter \"nope\"")]),
  DiagnosticCase(
    name: "template block tags",
    files: [s: DiagnosticCase.sync("mappings:\n  - { template: \"{% if vip %}VIP{% endfi %}\", to: name }")],
    errors: [.error(s, 6, 33, "mappings[0].template: unknown tag {% endfi %}; did you mean \"endif\"?")]),
  DiagnosticCase(
    name: "a template from the environment is not shown",
    files: [s: DiagnosticCase.sync("mappings:\n  - { template: \"${TEMPLATE}\", to: name }")],
    environment: ["TEMPLATE": "{{ secret | nope }}"],
    errors: [.error(s, 6, 17, "mappings[0].template read from the environment does not parse as a template")]),
]

@Suite("semantic validation")
struct SemanticValidationTests {
  @Test(arguments: semanticCases)
  func reportsExactlyTheseErrors(_ testCase: DiagnosticCase) {
    let loaded = ProjectFixture.load(testCase.files, environment: testCase.environment)
    let errors = loaded.diagnostics.sorted.filter { $0.severity == .error }
    #expect(errors.count == testCase.errors.count, "got:\n\(errors.map(\.description).joined(separator: "\n"))")
    for (error, expected) in zip(errors, testCase.errors) {
      #expect(error.location.file == expected.file, "\(error)")
      #expect(error.location.line == expected.line, "\(error)")
      #expect(error.location.column == expected.column, "\(error)")
      #expect(error.message.contains(expected.fragment), "\(error)")
      #expect(!error.message.contains("secret"), "\(error)")
    }
  }

  @Test func everyKindTakesWhatItsCapabilitiesSay() throws {
    for driver in ConnectorRegistry.standard.destinations {
      for type in Sync.Kind.allCases {
        for mode in type.modes {
          let match = mode.matchesRecords ? "match: { email: email }\n" : ""
          // A destination that takes requests gets one for every operation, and a listing (mirror's).
          let requests =
            driver.takesRequests
            ? "requests:\n" + RequestTemplates.operations.map { "  \($0): { method: POST, path: /x }\n" }.joined()
              + "  list: { method: GET, path: /x, result: { records: r, key: k, next: n } }\n" : ""
          let loaded = ProjectFixture.load(
            [
              "backflow.yaml": ProjectFixture.projectFile + "  target: \(driver.example)\n",
              s: "model: users\ndestination: target\nobject: o\ntype: \(type.rawValue)\nmode: \(mode.rawValue)\n\(match)\(requests)",
            ], environment: ["WAREHOUSE_URL": "postgresql://w", "CRM_DB_URL": "postgresql://c", "CRM_MYSQL_URL": "mysql://u@h/db"])
          let destination = try #require(loaded.project.destinations.first { $0.name.value == "target" })
          let allowed = destination.capabilities.modes[type]?.contains(mode) ?? false
          #expect(loaded.diagnostics.hasErrors == !allowed, "\(driver.kind) \(type) \(mode): \(loaded.diagnostics.all)")
        }
      }
    }
  }

  @Test func onDeleteNothingOnAnEventSyncIsOnlyAWarning() {
    let loaded = ProjectFixture.load([s: DiagnosticCase.sync("type: event\non_delete: nothing", match: "")])
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    #expect(loaded.diagnostics.warningCount == 1)
  }

  @Test func theRepositorysProjectsStillValidate() {
    let root = ProjectFixture.repositoryRoot
    let environment = ["WAREHOUSE_URL": "postgresql://x", "CRM_DB_URL": "postgresql://y", "CRM_TOKEN": "t"]
    for directory in [root, root.appendingPathComponent("examples/postgres-http")] {
      let loaded = ProjectLoader(directory: directory, environment: environment).load()
      #expect(!loaded.diagnostics.hasErrors, "\(directory.path): \(loaded.diagnostics.all)")
    }
  }
}
