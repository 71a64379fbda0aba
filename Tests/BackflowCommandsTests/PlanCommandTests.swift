import BackflowConfig
import BackflowSQLite
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// `backflow plan` run as a user runs it, on a SQLite warehouse: formats, exit codes, plan files.
@Suite("backflow plan")
struct PlanCommandTests {
  static let token = "tok-5ecret-77"
  static let environment = ["CRM_TOKEN": token]
  static let project = """
    version: 1
    sources:
      warehouse: { type: sqlite, path: warehouse.db }
    destinations:
      crm: { type: http, url: "http://127.0.0.1:9", headers: { Authorization: "Bearer ${CRM_TOKEN}" } }

    """
  static let sync = """
    model: users
    destination: crm
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: first_name }

    """

  /// A project whose warehouse holds three users, in a fresh directory.
  func withProject<Result>(_ body: (URL) throws -> Result) throws -> Result {
    try withTemporaryDirectory { directory in
      ProjectFixture.write(["backflow.yaml": Self.project, "syncs/users_to_crm.yaml": Self.sync], into: directory)
      try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).execute(
        """
        create table users (user_id integer, email text, first_name text);
        insert into users values (1, 'ada@example.com', 'Ada'), (2, 'grace@example.com', 'Grace'),
          (3, 'mary@example.com', 'Mary');
        """)
      return try body(directory)
    }
  }

  func plan(_ arguments: [String] = [], in directory: URL) throws -> BackflowProcess.Output {
    try BackflowProcess.run(["plan"] + arguments, in: directory, environment: Self.environment)
  }

  @Test func textShowsEachSyncAndTheTotalsWithoutColourOffATerminal() throws {
    try withProject { directory in
      let result = try plan(["--show-rows", "2"], in: directory)
      #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
      #expect(result.stdout.contains("+ users_to_crm will be created\n    model users → crm/contacts\n"))
      #expect(result.stdout.contains("    + 3 to add, ~ 0 to change, - 0 to remove (3 rows queried, 0 unchanged)\n"))
      #expect(result.stdout.contains("      + 1, 2 … and 1 more\n"))
      #expect(result.stdout.contains("Plan: syncs: 1 to create; rows: 3 to add, 0 to change, 0 to remove."))
      #expect(!result.stdout.contains("\u{1B}["))
      #expect(try plan(["--detailed-exitcode"], in: directory).status == 2)
    }
  }

  @Test func jsonHasTheDocumentedFields() throws {
    try withProject { directory in
      let result = try plan(["--format", "json"], in: directory)
      #expect(result.status == 0, "\(result.stderr)")
      let json = try JSONValue.parse(result.stdout)
      #expect(json["format_version"] == .int(1))
      #expect(json["commit"] == .null)
      guard case let .array(syncs)? = json["syncs"], let sync = syncs.first else {
        Issue.record("no syncs in \(result.stdout)")
        return
      }
      #expect(sync["name"] == .string("users_to_crm") && sync["id"] == .null)
      #expect(sync["config_action"] == .string("create") && sync["config_changes"] == .array([]))
      #expect(sync["rows_queried"] == .int(3) && sync["add"] == .int(3))
      #expect(sync["change"] == .int(0) && sync["remove"] == .int(0) && sync["warnings"] == .array([]))
    }
  }

  @Test func markdownLeadsWithTheCountsInATable() throws {
    try withProject { directory in
      let result = try plan(["--format", "markdown"], in: directory)
      #expect(result.status == 0)
      #expect(result.stdout.hasPrefix("### Backflow plan\n\n**1 sync** · rows: **3** to add, **0** to change, **0** to remove\n"))
      #expect(result.stdout.contains("| `users_to_crm` | **create** | 3 | 0 | 0 | 3 |  |\n"))
    }
  }

  @Test func planFileHoldsEveryRowAndNoSecret() throws {
    try withProject { directory in
      let result = try plan(["--out", "tfplan", "--format", "json"], in: directory)
      #expect(result.status == 0, "\(result.stderr)")
      let file = directory.appendingPathComponent("tfplan")
      let text = try String(contentsOf: file, encoding: .utf8)
      let lines = text.split(separator: "\n")
      #expect(lines.count == 4)
      #expect(lines.dropFirst().allSatisfy { $0.contains("\"op\":\"add\"") })
      #expect(lines[1].contains("\"fields\":{\"email\":\"ada@example.com\",\"first_name\":\"Ada\"}"))
      // The header names the variable a secret comes from, never its value.
      #expect(lines[0].contains("\"value\":\"Bearer ${CRM_TOKEN}\""))
      for output in [text, result.stdout, result.stderr] { #expect(!output.contains(Self.token)) }

    }
  }

  @Test func planningErrorsExitOneAndWriteNoPlanFile() throws {
    try withProject { directory in
      ProjectFixture.write(
        ["backflow.yaml": Self.project, "syncs/users_to_crm.yaml": Self.sync + "  - { from: last_name, to: last_name }\n"],
        into: directory)
      let result = try plan(["--detailed-exitcode", "--out", "tfplan"], in: directory)
      #expect(result.status == 1)
      #expect(result.stdout.hasPrefix("syncs/users_to_crm.yaml:7:13: error: mappings[1].from names column \"last_name\""))
      #expect(result.stderr.contains("No plan file was written"))
      #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("tfplan").path))
    }
  }

  @Test func unknownSelectionsAndInvalidProjectsExitOne() throws {
    try withProject { directory in
      let unknown = try plan(["--select", "users_to_cmr"], in: directory)
      #expect(unknown.status == 1)
      #expect(unknown.stderr.contains("there is no sync named \"users_to_cmr\"; did you mean \"users_to_crm\"?"))
      #expect(try plan(["--select", "users_to_crm"], in: directory).status == 0)

      ProjectFixture.write(
        ["backflow.yaml": Self.project, "syncs/users_to_crm.yaml": Self.sync + "mdoe: upsert\n"], into: directory)
      let invalid = try plan([], in: directory)
      #expect(invalid.status == 1)
      #expect(
        invalid.stderr == """
          syncs/users_to_crm.yaml:7:1: error: unknown key "mdoe" in sync; did you mean "mode"?
          error: the project is not valid; `backflow validate` lists every problem

          """)
    }
  }

  @Test func selectingNamePlusAddsTheSyncsThatRunAfterIt() throws {
    try withProject { directory in
      ProjectFixture.write(
        [
          "backflow.yaml": Self.project, "syncs/users_to_crm.yaml": Self.sync,
          "syncs/follower.yaml": Self.sync + "schedule: { after: [users_to_crm] }\n",
          "syncs/second_follower.yaml": Self.sync + "schedule: { after: [follower] }\n",
          "syncs/unrelated.yaml": Self.sync,
        ], into: directory)
      let one = try selected(["--select", "users_to_crm"], in: directory)
      let withFollowers = try selected(["--select", "users_to_crm+"], in: directory)
      let mixed = try selected(["--select", "follower+,unrelated"], in: directory)
      let all = try selected([], in: directory)
      #expect(one == ["users_to_crm"])
      #expect(withFollowers == ["follower", "second_follower", "users_to_crm"])
      #expect(mixed == ["follower", "second_follower", "unrelated"])
      #expect(all.count == 4)
    }
  }

  /// The names of the syncs a JSON plan covers.
  func selected(_ arguments: [String], in directory: URL) throws -> [String] {
    let result = try plan(["--format", "json"] + arguments, in: directory)
    guard case let .array(syncs)? = try JSONValue.parse(result.stdout)["syncs"] else { return [] }
    return syncs.compactMap { if case let .string(name)? = $0["name"] { name } else { nil } }
  }

  @Test func aStateWrittenByANewerBackflowIsRefused() throws {
    try withProject { directory in
      _ = try StateStore.open(.sqlite(path: ".backflow/state.db"), in: directory, writer: "9.9.9")
      let database = try SQLiteDatabase(path: directory.appendingPathComponent(".backflow/state.db").path)
      try database.execute("update meta set value = '99' where key = 'schema_version'")
      let result = try plan([], in: directory)
      #expect(result.status == 1)
      #expect(result.stderr.contains("schema version 99, written by Backflow 9.9.9"))
      #expect(result.stderr.contains("upgrade Backflow"))
    }
  }
}
