import BackflowConfig
import BackflowTestSupport
import Testing

/// One misconfiguration and exactly the errors it must produce, each at its line and column.
struct DiagnosticCase: CustomTestStringConvertible, Sendable {
  struct Expected: Sendable {
    var file: String
    var line: Int
    var column: Int
    var fragment: String

    static func error(_ file: String, _ line: Int, _ column: Int, _ fragment: String) -> Expected {
      Expected(file: file, line: line, column: column, fragment: fragment)
    }
  }

  var name: String
  var files: [String: String]
  var environment: [String: String] = [:]
  var errors: [Expected]

  var testDescription: String { name }

  /// A sync file whose first lines are valid; `extra` follows from line 5.
  static func sync(_ extra: String, match: String = "match: { email: email }") -> String {
    "model: users\ndestination: local\nobject: contacts\n\(match)\n\(extra)\n"
  }
}

private let s = "syncs/s.yaml"
private let p = "backflow.yaml"

let diagnosticCases: [DiagnosticCase] = [
  DiagnosticCase(
    name: "YAML syntax error at the line libyaml reports",
    files: [s: "model: users\ndestination: [local\nobject: contacts\n"],
    errors: [.error(s, 3, 7, "invalid YAML: did not find expected ',' or ']'")]),
  DiagnosticCase(
    name: "tab indentation is a YAML error",
    files: [s: "model: users\nbatch:\n\tsize: 5\n"],
    errors: [.error(s, 3, 1, "invalid YAML: found character that cannot start any token")]),
  DiagnosticCase(
    name: "duplicate key",
    files: [s: DiagnosticCase.sync("mode: upsert\nmode: update")],
    errors: [.error(s, 5, 1, "duplicate key \"mode\"")]),
  DiagnosticCase(
    name: "unknown sync key with did you mean",
    files: [s: DiagnosticCase.sync("mdoe: upsert")],
    errors: [.error(s, 5, 1, "unknown key \"mdoe\" in sync; did you mean \"mode\"?")]),
  DiagnosticCase(
    name: "unknown project key with did you mean",
    files: [p: ProjectFixture.projectFile + "sync_log: { source: warehouse }\n"],
    errors: [.error(p, 8, 1, "unknown key \"sync_log\" in backflow.yaml; did you mean \"sync_logs\"?")]),
  DiagnosticCase(
    name: "unknown key far from any known one has no suggestion",
    files: [s: DiagnosticCase.sync("colour: red")],
    errors: [.error(s, 5, 1, "unknown key \"colour\" in sync")]),
  DiagnosticCase(
    name: "batch is not a mapping",
    files: [s: DiagnosticCase.sync("batch: 5")],
    errors: [.error(s, 5, 8, "batch must be a mapping with keys size, concurrency, rate, got \"5\"")]),
  DiagnosticCase(
    name: "batch size is not a number",
    files: [s: DiagnosticCase.sync("batch: { size: abc }")],
    errors: [.error(s, 5, 16, "batch.size must be a whole number, got \"abc\"")]),
  DiagnosticCase(
    name: "quoted number is a string",
    files: [s: DiagnosticCase.sync("batch: { size: \"500\" }")],
    errors: [.error(s, 5, 16, "batch.size must be a whole number, got the string \"500\"")]),
  DiagnosticCase(
    name: "zero and negative batch numbers",
    files: [s: DiagnosticCase.sync("batch:\n  size: 0\n  concurrency: -2")],
    errors: [
      .error(s, 6, 9, "batch.size must be at least 1, got 0"),
      .error(s, 7, 16, "batch.concurrency must be at least 1, got -2"),
    ]),
  DiagnosticCase(
    name: "bad rates",
    files: [
      s: DiagnosticCase.sync("batch: { rate: fast }"),
      "syncs/t.yaml": DiagnosticCase.sync("batch: { rate: 0/s }"),
      "syncs/u.yaml": DiagnosticCase.sync("batch: { rate: 10/x }"),
    ],
    errors: [
      .error(s, 5, 16, "batch.rate: must be requests per unit, like 20/s, 100/m or 1000/h, got \"fast\""),
      .error("syncs/t.yaml", 5, 16, "got \"0/s\""),
      .error("syncs/u.yaml", 5, 16, "got \"10/x\""),
    ]),
  DiagnosticCase(
    name: "enabled is not a boolean",
    files: [s: DiagnosticCase.sync("enabled: maybe")],
    errors: [.error(s, 5, 10, "enabled must be true or false, got \"maybe\"")]),
  DiagnosticCase(
    name: "mappings is not a list",
    files: [s: DiagnosticCase.sync("mappings: first_name")],
    errors: [.error(s, 5, 11, "mappings must be a list, got \"first_name\"")]),
  DiagnosticCase(
    name: "bad mode with did you mean",
    files: [s: DiagnosticCase.sync("mode: upsertt")],
    errors: [.error(s, 5, 7, "mode must be one of upsert, update, insert, mirror, add_remove, got \"upsertt\"; did you mean \"upsert\"?")]),
  DiagnosticCase(
    name: "bad type",
    files: [s: DiagnosticCase.sync("type: objet")],
    errors: [.error(s, 5, 7, "type must be one of object, event, list, got \"objet\"; did you mean \"object\"?")]),
  DiagnosticCase(
    name: "bad on_delete",
    files: [s: DiagnosticCase.sync("on_delete: remove")],
    errors: [.error(s, 5, 12, "on_delete must be one of nothing, clear, delete, got \"remove\"")]),
  DiagnosticCase(
    name: "bad source and destination types",
    files: [p: "version: 1\nsources:\n  warehouse: { type: postgress, url: x }\ndestinations:\n  local: { type: kafka }\n"],
    errors: [
      .error(p, 3, 22, "sources.warehouse.type must be one of postgres, sqlite, mysql, adbc, got \"postgress\"; did you mean \"postgres\"?"),
      .error(p, 5, 18, "destinations.local.type must be one of postgres, sqlite, mysql, http, rest, file, got \"kafka\""),
    ]),
  DiagnosticCase(
    name: "event syncs can only insert",
    files: [s: DiagnosticCase.sync("type: event\nmode: upsert", match: "")],
    errors: [.error(s, 6, 7, "mode \"upsert\" does not fit a sync of type event; event syncs use insert")]),
  DiagnosticCase(
    name: "list syncs only add and remove",
    files: [s: DiagnosticCase.sync("type: list\nmode: mirror")],
    errors: [.error(s, 6, 7, "mode \"mirror\" does not fit a sync of type list; list syncs use add_remove")]),
  DiagnosticCase(
    name: "upsert without match",
    files: [s: DiagnosticCase.sync("mode: upsert", match: "")],
    errors: [.error(s, 5, 1, "mode upsert finds existing records and needs match")]),
  DiagnosticCase(
    name: "default mode without match points at the sync",
    files: [s: "model: users\ndestination: local\nobject: contacts\n"],
    errors: [.error(s, 1, 1, "mode upsert finds existing records and needs match")]),
  DiagnosticCase(
    name: "mirror and update without match",
    files: [
      s: DiagnosticCase.sync("mode: mirror", match: ""),
      "syncs/t.yaml": DiagnosticCase.sync("mode: update", match: ""),
    ],
    errors: [
      .error(s, 5, 1, "mode mirror finds existing records and needs match"),
      .error("syncs/t.yaml", 5, 1, "mode update finds existing records and needs match"),
    ]),
  DiagnosticCase(
    name: "match with two entries",
    files: [s: DiagnosticCase.sync("", match: "match: { email: email, id: id }")],
    errors: [.error(s, 4, 8, "match must have exactly one entry")]),
  DiagnosticCase(
    name: "mapping without to",
    files: [s: DiagnosticCase.sync("mappings:\n  - from: first_name")],
    errors: [.error(s, 6, 5, "mappings[0] is missing required key \"to\"")]),
  DiagnosticCase(
    name: "mapping with two origins",
    files: [s: DiagnosticCase.sync("mappings:\n  - { from: first_name, value: x, to: name }")],
    errors: [.error(s, 6, 25, "mappings[0] has from and value; use exactly one of from, value or template")]),
  DiagnosticCase(
    name: "mapping with no origin",
    files: [s: DiagnosticCase.sync("mappings:\n  - { to: name }")],
    errors: [.error(s, 6, 5, "mappings[0] needs one of from (a column), value (a constant) or template")]),
  DiagnosticCase(
    name: "duplicate mapping targets",
    files: [s: DiagnosticCase.sync("mappings:\n  - { from: first_name, to: name }\n  - { template: \"{{ email }}\", to: name }")],
    errors: [.error(s, 7, 36, "mappings[1].to \"name\" is already mapped at line 6")]),
  DiagnosticCase(
    name: "unbalanced template",
    files: [s: DiagnosticCase.sync("mappings:\n  - { template: \"{{ email }\", to: name }")],
    errors: [.error(s, 6, 18, "mappings[0].template: {{ is not closed; end it with }}")]),
  DiagnosticCase(
    name: "invalid cron: out of range",
    files: [s: DiagnosticCase.sync("schedule: { cron: \"61 * * * *\" }")],
    errors: [.error(s, 5, 19, "schedule.cron \"61 * * * *\" is invalid: minute \"61\" is not in 0-59")]),
  DiagnosticCase(
    name: "invalid cron: field count",
    files: [s: DiagnosticCase.sync("schedule:\n  cron: \"0 6 * *\"")],
    errors: [.error(s, 6, 9, "expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, found 4")]),
  DiagnosticCase(
    name: "invalid cron: bad name and backwards range",
    files: [
      s: DiagnosticCase.sync("schedule: { cron: \"0 6 * * mon-fry\" }"),
      "syncs/t.yaml": DiagnosticCase.sync("schedule: { cron: \"0 20-8 * * *\" }"),
    ],
    errors: [
      .error(s, 5, 19, "day of week \"fry\" is not in 0-7 or sun-sat"),
      .error("syncs/t.yaml", 5, 19, "hour range \"20-8\" runs backwards"),
    ]),
  DiagnosticCase(
    name: "invalid time zone with did you mean",
    files: [s: DiagnosticCase.sync("schedule: { cron: \"0 6 * * *\", timezone: Europe/Berln }")],
    errors: [.error(s, 5, 42, "schedule.timezone \"Europe/Berln\" is not an IANA time zone like Europe/Berlin or America/New_York; did you mean \"Europe/Berlin\"?")]),
  DiagnosticCase(
    name: "weekly with a bad day, a bad time and a bad zone",
    files: [s: DiagnosticCase.sync("schedule:\n  weekly:\n    days: [mon, funday]\n    at: \"25:00\"\n    timezone: Mars/Olympus")],
    errors: [
      .error(s, 7, 17, "schedule.weekly.days[1] \"funday\" is not a day"),
      .error(s, 8, 9, "schedule.weekly.at: must be a time of day as HH:MM"),
      .error(s, 9, 15, "schedule.weekly.timezone \"Mars/Olympus\" is not an IANA time zone"),
    ]),
  DiagnosticCase(
    name: "two schedules at once",
    files: [s: DiagnosticCase.sync("schedule: { every: 15m, cron: \"0 * * * *\" }")],
    errors: [.error(s, 5, 25, "schedule has every and cron; a sync has exactly one schedule")]),
  DiagnosticCase(
    name: "bad every",
    files: [s: DiagnosticCase.sync("schedule: { every: soon }")],
    errors: [.error(s, 5, 20, "schedule.every: must be a duration like 30s, 15m, 1h30m or 1d, got \"soon\"")]),
  DiagnosticCase(
    name: "unknown after target with did you mean",
    files: [
      s: DiagnosticCase.sync("schedule: { after: [user_to_crm] }"),
      "syncs/users_to_crm.yaml": DiagnosticCase.sync(""),
    ],
    errors: [.error(s, 5, 21, "sync \"user_to_crm\" is not declared in syncs/; did you mean \"users_to_crm\"?")]),
  DiagnosticCase(
    name: "cycle among after",
    files: [
      "syncs/a.yaml": DiagnosticCase.sync("schedule: { after: [b] }"),
      "syncs/b.yaml": DiagnosticCase.sync("schedule: { after: [c] }"),
      "syncs/c.yaml": DiagnosticCase.sync("schedule: { after: [a] }"),
    ],
    errors: [.error("syncs/a.yaml", 5, 21, "schedule.after forms a cycle: a → b → c → a")]),
  DiagnosticCase(
    name: "a sync after itself",
    files: [s: DiagnosticCase.sync("schedule: { after: [s] }")],
    errors: [.error(s, 5, 21, "sync \"s\" cannot run after itself")]),
  DiagnosticCase(
    name: "undeclared destination with did you mean",
    files: [s: "model: users\ndestination: locl\nobject: contacts\nmatch: { email: email }\n"],
    errors: [.error(s, 2, 14, "destination \"locl\" is not declared in backflow.yaml under destinations; did you mean \"local\"?")]),
  DiagnosticCase(
    name: "model not found",
    files: [s: "model: user\ndestination: local\nobject: contacts\nmatch: { email: email }\n"],
    errors: [.error(s, 1, 8, "model \"user\" not found: expected syncs/models/user.yaml; did you mean \"users\"?")]),
  DiagnosticCase(
    name: "undeclared source in a model file and in an inline model",
    files: [
      "syncs/models/users.yaml": "source: warehous\nprimary_key: id\ntable: users\n",
      s: "model:\n  source: lake\n  primary_key: id\n  table: t\ndestination: local\nobject: contacts\nmatch: { email: email }\n",
    ],
    errors: [
      .error("syncs/models/users.yaml", 1, 9, "source \"warehous\" is not declared in backflow.yaml under sources; did you mean \"warehouse\"?"),
      .error(s, 2, 11, "source \"lake\" is not declared in backflow.yaml under sources"),
    ]),
  DiagnosticCase(
    name: "model without a primary key",
    files: ["syncs/models/users.yaml": "source: warehouse\ntable: users\n", s: DiagnosticCase.sync("")],
    errors: [.error("syncs/models/users.yaml", 1, 1, "model is missing required key \"primary_key\"")]),
  DiagnosticCase(
    name: "inline model without a primary key, and with both query and table",
    files: [s: "model:\n  source: warehouse\n  query: select 1\n  table: t\ndestination: local\nobject: contacts\nmatch: { email: email }\n"],
    errors: [
      .error(s, 2, 3, "model is missing required key \"primary_key\""),
      .error(s, 4, 3, "model has both query and table; keep one"),
    ]),
  DiagnosticCase(
    name: "duplicate sync names",
    files: [
      "syncs/a.yaml": DiagnosticCase.sync(""),
      "syncs/team/a.yaml": DiagnosticCase.sync(""),
      "syncs/z.yaml": "name: a\n" + DiagnosticCase.sync(""),
    ],
    errors: [
      .error("syncs/team/a.yaml", 1, 1, "sync name \"a\" is already used at syncs/a.yaml:1:1; sync names must be unique"),
      .error("syncs/z.yaml", 1, 7, "sync name \"a\" is already used at syncs/a.yaml:1:1"),
    ]),
  DiagnosticCase(
    name: "environment variable not set names the variable",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "\"http://127.0.0.1:8080\"", with: "\"${CRM_API_URL}\"")],
    errors: [.error(p, 6, 27, "destinations.api.url reads environment variable \"CRM_API_URL\", which is not set")]),
  DiagnosticCase(
    name: "a default satisfies a missing variable",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "\"http://127.0.0.1:8080\"", with: "\"${CRM_API_URL:-http://localhost}\"")],
    errors: []),
  DiagnosticCase(
    name: "version newer than supported, and a bad state",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "version: 1", with: "version: 2\nstate: mysql://x")],
    errors: [
      .error(p, 1, 10, "version 2 is newer than this Backflow reads (1); upgrade Backflow"),
      .error(p, 2, 8, "state: must be sqlite:PATH, a postgres:// URL or a libpq key=value string (host=… dbname=…), got \"mysql://x\""),
    ]),
  DiagnosticCase(
    name: "a SQLite state written as a URL",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "version: 1", with: "version: 1\nstate: sqlite://state.db")],
    errors: [
      .error(
        p, 2, 8,
        "state: must be sqlite:PATH without //: sqlite:state.db is relative to backflow.yaml, "
          + "sqlite:/var/lib/backflow/state.db absolute, got \"sqlite://state.db\""),
    ]),
  DiagnosticCase(
    name: "missing version",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "version: 1\n", with: "")],
    errors: [.error(p, 1, 1, "backflow.yaml is missing required key \"version\"")]),
  DiagnosticCase(
    name: "keys another destination type uses, and a missing one",
    files: [p: "version: 1\nsources:\n  warehouse: { type: sqlite, path: w.db }\ndestinations:\n  local:\n    type: sqlite\n    url: x\n  api: { type: http, headers: { A: b } }\n"],
    errors: [
      .error(p, 6, 5, "destinations.local is a sqlite destination and needs \"path\""),
      .error(p, 7, 5, "\"url\" is not used by sqlite destinations; sqlite destinations use path"),
      .error(p, 8, 8, "destinations.api is a http destination and needs \"url\""),
    ]),
  DiagnosticCase(
    name: "readable on a destination that is not http, and readable that is not a boolean",
    files: [
      p: "version: 1\nsources:\n  warehouse: { type: sqlite, path: w.db }\ndestinations:\n  local: { type: sqlite, path: c.db, readable: true }\n  api: { type: http, url: \"http://x\", readable: maybe }\n"
    ],
    errors: [
      .error(p, 5, 38, "\"readable\" is not used by sqlite destinations; sqlite destinations use path"),
      .error(p, 6, 49, "destinations.api.readable must be true or false, got \"maybe\""),
    ]),
  DiagnosticCase(
    name: "a sqlite source given a url",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "{ type: sqlite, path: warehouse.db }", with: "{ type: sqlite, url: \"postgres://x\" }")],
    errors: [
      .error(p, 3, 14, "sources.warehouse is a sqlite source and needs \"path\""),
      .error(p, 3, 30, "\"url\" is not used by sqlite sources; sqlite sources use path"),
    ]),
  DiagnosticCase(
    name: "http url without scheme",
    files: [p: ProjectFixture.projectFile.replacingOccurrences(of: "\"http://127.0.0.1:8080\"", with: "crm.example.com")],
    errors: [.error(p, 6, 27, "destinations.api.url: must start with http:// or https://, got \"crm.example.com\"")]),
  DiagnosticCase(
    name: "max_remove out of range",
    files: [s: DiagnosticCase.sync("max_remove: 150%")],
    errors: [.error(s, 5, 13, "max_remove: must be a share of the previous rows like \"50%\"")]),
  DiagnosticCase(
    name: "mirror with on_delete nothing",
    files: [s: DiagnosticCase.sync("mode: mirror\non_delete: nothing")],
    errors: [.error(s, 6, 12, "mode mirror always deletes records that leave the model")]),
  DiagnosticCase(
    name: "bad names",
    files: [p: ProjectFixture.projectFile + "  \"bad name\": { type: file, dir: x }\n", "syncs/9lives.yaml": DiagnosticCase.sync("")],
    errors: [
      .error(p, 8, 3, "destination name \"bad name\" must start with a letter or _"),
      .error("syncs/9lives.yaml", 1, 1, "sync name \"9lives\" must start with a letter or _"),
    ]),
  DiagnosticCase(
    name: "a file stem that is not a name",
    files: ["syncs/users.v2.yaml": DiagnosticCase.sync(""), "syncs/models/2024-users.yaml": ProjectFixture.modelFile],
    errors: [
      .error("syncs/models/2024-users.yaml", 1, 1, "model name \"2024-users\" must start with a letter or _ and hold only letters, digits, _ and -; the file's name is the model's name, so rename the file"),
      .error("syncs/users.v2.yaml", 1, 1, "sync name \"users.v2\" must start with a letter or _ and hold only letters, digits, _ and -; rename the file or give the sync a name: key"),
    ]),
  DiagnosticCase(
    name: "names, references and choices are not read from the environment",
    files: [s: "model: users\ndestination: ${DEST}\nobject: contacts\nmatch: { email: email }\nmode: \"${MODE}\"\n"],
    environment: ["DEST": "local", "MODE": "upsert"],
    errors: [
      .error(s, 2, 14, "destination cannot read the environment: names, references and fixed choices are written out"),
      .error(s, 5, 7, "mode cannot read the environment"),
    ]),
  DiagnosticCase(
    name: "empty sync file",
    files: [s: "# nothing yet\n"],
    errors: [.error(s, 1, 1, "the sync file is empty; it needs model, destination and object")]),
  DiagnosticCase(
    name: "missing required sync keys",
    files: [s: "mode: insert\n"],
    errors: [
      .error(s, 1, 1, "sync is missing required key \"model\""),
      .error(s, 1, 1, "sync is missing required key \"destination\""),
      .error(s, 1, 1, "sync is missing required key \"object\""),
    ]),
]

@Suite("validate diagnostics")
struct DiagnosticTests {
  @Test(arguments: diagnosticCases + alertDiagnosticCases)
  func reportsExactlyTheseErrors(_ testCase: DiagnosticCase) {
    let loaded = ProjectFixture.load(testCase.files, environment: testCase.environment)
    let errors = loaded.diagnostics.sorted.filter { $0.severity == .error }
    #expect(errors.count == testCase.errors.count, "got:\n\(errors.map(\.description).joined(separator: "\n"))")
    for (error, expected) in zip(errors, testCase.errors) {
      #expect(error.location.file == expected.file, "\(error)")
      #expect(error.location.line == expected.line, "\(error)")
      #expect(error.location.column == expected.column, "\(error)")
      #expect(error.message.contains(expected.fragment), "\(error)")
      #expect(!error.message.hasSuffix("."), "GNU style: no trailing period: \(error)")
      #expect(error.message.first?.isUppercase == false, "GNU style: lower-case: \(error)")
    }
  }

  @Test func baseFixtureIsValid() {
    let loaded = ProjectFixture.load(["syncs/s.yaml": DiagnosticCase.sync("")])
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all)")
    #expect(loaded.project.syncs.map(\.name.value) == ["s"])
  }
}
