import BackflowConfig
import BackflowSQLite
import BackflowTestSupport
import Foundation
import Testing
import Yams

/// The pull-request workflow run as CI runs it: `plan --base REF` against a real git repository,
/// the GitHub job summary, Markdown that fits a PR comment, and the example workflow.
@Suite("pull requests and CI")
struct PullRequestWorkflowTests {
  static let token = "tok-5ecret-77"
  static let project = """
    version: 1
    sources:
      warehouse: { type: sqlite, path: warehouse.db }
    destinations:
      local: { type: sqlite, path: crm.db }
      crm: { type: http, url: "http://127.0.0.1:9", headers: { Authorization: "Bearer ${CRM_TOKEN}" } }

    """

  /// A sync of the `users` model into `destination`/`object`.
  static func sync(_ destination: String = "local", object: String = "contacts", to field: String = "first_name")
    -> String
  {
    """
    model: users
    destination: \(destination)
    object: \(object)
    match: { email: email }
    mappings:
      - { from: first_name, to: \(field) }

    """
  }

  /// A project with a SQLite warehouse of three users and a SQLite CRM, in a fresh directory.
  func withProject<Result>(_ files: [String: String], _ body: (URL) throws -> Result) throws -> Result {
    try withTemporaryDirectory { directory in
      ProjectFixture.write(["backflow.yaml": Self.project].merging(files) { $1 }, into: directory)
      try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).execute(
        """
        create table users (user_id integer, email text, first_name text);
        insert into users values (1, 'ada@example.com', 'Ada'), (2, 'grace@example.com', 'Grace'),
          (3, 'mary@example.com', 'Mary');
        """)
      try SQLiteDatabase(path: directory.appendingPathComponent("crm.db").path).execute(
        """
        create table contacts (email text primary key, first_name text, given_name text);
        create table old_contacts (email text primary key, first_name text);
        """)
      return try body(directory)
    }
  }

  func backflow(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws
    -> BackflowProcess.Output
  {
    try BackflowProcess.run(arguments, in: directory, environment: ["CRM_TOKEN": Self.token].merging(environment) { $1 })
  }

  /// Runs git in `directory`, as a user would; a failure fails the test.
  @discardableResult
  func git(_ arguments: [String], in directory: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "init.defaultBranch=main"]
      + arguments
    process.currentDirectoryURL = directory
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    #expect(process.terminationStatus == 0, "git \(arguments.joined(separator: " ")): \(text)")
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Commits `backflow.yaml` and `syncs/` as they are.
  func commitProject(in directory: URL) throws -> String {
    if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git").path) {
      try git(["init", "-q"], in: directory)
    }
    try git(["add", "backflow.yaml", "syncs"], in: directory)
    try git(["commit", "-q", "-m", "syncs"], in: directory)
    return try git(["rev-parse", "HEAD"], in: directory)
  }

  // MARK: --base

  /// Applied at the commit, then in the working tree: a mapping changed, a sync removed, a sync
  /// added, and a header's secret reference changed.
  func withChangedRepository<Result>(_ body: (URL, String) throws -> Result) throws -> Result {
    try withProject(
      [
        "syncs/users_to_crm.yaml": Self.sync(),
        "syncs/old_export.yaml": Self.sync(object: "old_contacts"),
        "syncs/api_contacts.yaml": Self.sync("crm") + "enabled: false\n",
      ]
    ) { directory in
      let commit = try commitProject(in: directory)
      let applied = try backflow(["apply", "--auto-approve"], in: directory)
      #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
      ProjectFixture.write(
        [
          "backflow.yaml": Self.project.replacing("Bearer ${CRM_TOKEN}", with: "Token ${CRM_TOKEN}"),
          "syncs/users_to_crm.yaml": Self.sync(to: "given_name"), "syncs/new_sync.yaml": Self.sync("crm") + "enabled: false\n",
        ], into: directory)
      try FileManager.default.removeItem(at: directory.appendingPathComponent("syncs/old_export.yaml"))
      return try body(directory, commit)
    }
  }

  @Test func baseShowsEachSyncsConfigDiffSinceTheRefInText() throws {
    try withChangedRepository { directory, commit in
      let result = try backflow(["plan", "--base", "HEAD"], in: directory)
      #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
      let text = result.stdout
      #expect(text.hasPrefix("Backflow plan · state sqlite:.backflow/state.db · commit \(commit.prefix(12)) · base HEAD (\(commit.prefix(12)))\n"))
      #expect(
        text.contains(
          """
          ~ users_to_crm #3 config will be updated
              model users → local/contacts
              ~ mappings[0].to: "first_name" → "given_name"
              changed since HEAD: the same change as above

          """))
      #expect(text.contains("+ new_sync will be created\n    model users → crm/contacts\n    added since HEAD\n"))
      #expect(text.contains("- old_export #2 will be retired: it is gone from the repository; its destination data is left as it is\n    removed since HEAD\n"))
      #expect(text.contains("~ destination.headers[0].value: \"Bearer ${CRM_TOKEN}\" → \"Token ${CRM_TOKEN}\""))
      #expect(!text.contains(Self.token) && !result.stderr.contains(Self.token))

      // Against an older state the two diffs differ: the base diff is listed on its own.
      try git(["add", "-A", "backflow.yaml", "syncs"], in: directory)
      try git(["commit", "-q", "-m", "given_name"], in: directory)
      ProjectFixture.write(["syncs/users_to_crm.yaml": Self.sync(to: "full_name")], into: directory, over: [:])
      let second = try backflow(["plan", "--base", "HEAD"], in: directory)
      #expect(
        second.stdout.contains(
          """
              ~ mappings[0].to: "first_name" → "full_name"
              changed since HEAD: 1 config change
                ~ mappings[0].to: "given_name" → "full_name"

          """), "\(second.stdout)")
      #expect(second.stdout.contains("+ new_sync will be created\n    model users → crm/contacts\n    no config change since HEAD\n"))
    }
  }

  @Test func baseIsAMemberOfEachSyncInJSON() throws {
    try withChangedRepository { directory, commit in
      let result = try backflow(["plan", "--base", "HEAD", "--format", "json"], in: directory)
      #expect(result.status == 0, "\(result.stderr)")
      let json = try JSONValue.parse(result.stdout)
      #expect(json["base"] == .object([("ref", .string("HEAD")), ("commit", .string(commit)), ("removed", .array([]))]))
      let bases = Dictionary(uniqueKeysWithValues: syncs(json).map { ($0.name, $0.json["base"]) })
      func base(_ status: String, _ changes: [JSONValue] = []) -> JSONValue {
        .object([("ref", .string("HEAD")), ("commit", .string(commit)), ("status", .string(status)), ("changes", .array(changes))])
      }
      func change(_ path: String, _ before: String, _ after: String) -> JSONValue {
        .object([("path", .string(path)), ("before", .string(before)), ("after", .string(after))])
      }
      #expect(bases["users_to_crm"] == base("changed", [change("mappings[0].to", "first_name", "given_name")]))
      #expect(bases["new_sync"] == base("added"))
      #expect(bases["old_export"] == base("removed"))
      // A secret shows as written, never its value.
      #expect(
        bases["api_contacts"]
          == base("changed", [change("destination.headers[0].value", "Bearer ${CRM_TOKEN}", "Token ${CRM_TOKEN}")]))
      #expect(!result.stdout.contains(Self.token))

      // A sync removed since the ref that state never knew is listed at the top level.
      let fresh = try backflow(["plan", "--base", "HEAD", "--format", "json", "--state", "sqlite:fresh.db"], in: directory)
      let freshJSON = try JSONValue.parse(fresh.stdout)
      #expect(freshJSON["base"]?["removed"] == .array([.string("old_export")]))
      #expect(!syncs(freshJSON).contains { $0.name == "old_export" })
    }
  }

  @Test func baseInMarkdownAddsAColumnAndFoldsTheDiff() throws {
    try withChangedRepository { directory, _ in
      let result = try backflow(["plan", "--base", "HEAD", "--format", "markdown", "--state", "sqlite:fresh.db"], in: directory)
      #expect(result.status == 0, "\(result.stderr)")
      let markdown = result.stdout
      #expect(markdown.contains("| sync | config | since `HEAD` | add | change | remove | queried | notes |\n"))
      #expect(markdown.contains("| `users_to_crm` | **create** | changed (1) | 3 | 0 | 0 | 3 |  |\n"))
      #expect(markdown.contains("| `new_sync` | **create** | added |  |  |  |  | disabled |\n"))
      #expect(markdown.contains("Removed since `HEAD` and never applied, so there is nothing to retire:\n\n- `old_export`\n"))
      #expect(
        markdown.contains(
          """
          <details><summary><code>users_to_crm</code>: 1 change since <code>HEAD</code></summary>
          """))
      #expect(markdown.contains("- mappings[0].to: \"first_name\"\n+ mappings[0].to: \"given_name\"\n"))
    }
  }

  @Test func aRefThatNamesNoCommitIsAClearError() throws {
    try withProject(["syncs/users_to_crm.yaml": Self.sync()]) { directory in
      let outside = try backflow(["plan", "--base", "main"], in: directory)
      #expect(outside.status == 1)
      #expect(outside.stderr.contains("error: --base needs the project to be in a git repository"), "\(outside.stderr)")

      _ = try commitProject(in: directory)
      for ref in ["no-such-branch", "origin/main", "-x"] {
        let result = try backflow(["plan", "--base=\(ref)", "--format", "json"], in: directory)
        #expect(result.status == 1, "\(ref)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("error: --base: "), "\(result.stderr)")
        #expect(result.stderr.contains("\"\(ref)\""), "\(result.stderr)")
      }
    }
  }

  @Test func aProjectInASubdirectoryIsReadAtTheRefFromThere() throws {
    try withTemporaryDirectory { root in
      let directory = root.appendingPathComponent("teams/growth")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      ProjectFixture.write(["backflow.yaml": Self.project, "syncs/users_to_crm.yaml": Self.sync()], into: directory)
      try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).execute(
        "create table users (user_id integer, email text, first_name text)")
      try git(["init", "-q"], in: root)
      try git(["add", "teams"], in: root)
      try git(["commit", "-q", "-m", "syncs"], in: root)
      ProjectFixture.write(["syncs/users_to_crm.yaml": Self.sync(to: "given_name")], into: directory, over: [:])
      let result = try backflow(["plan", "--project", "teams/growth", "--base", "HEAD", "--format", "json"], in: root)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(syncs(try JSONValue.parse(result.stdout)).first?.json["base"]?["status"] == .string("changed"))
    }
  }

  // MARK: GitHub step summary

  @Test func theStepSummaryIsWrittenOnlyInGitHubActions() throws {
    try withProject(["syncs/users_to_crm.yaml": Self.sync()]) { directory in
      let summary = directory.appendingPathComponent("summary.md")
      try Data("Earlier step output\n".utf8).write(to: summary)
      for environment in [
        ["GITHUB_STEP_SUMMARY": summary.path], ["GITHUB_ACTIONS": "false", "GITHUB_STEP_SUMMARY": summary.path],
        ["GITHUB_ACTIONS": "true"],
      ] {
        let result = try backflow(["plan"], in: directory, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOf: summary, encoding: .utf8) == "Earlier step output\n")
      }

      let result = try backflow(
        ["plan"], in: directory, environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path])
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.hasPrefix("Backflow plan · state"))
      let written = try String(contentsOf: summary, encoding: .utf8)
      // Appended after a blank line, counts first, whatever --format printed.
      #expect(
        written.hasPrefix(
          "Earlier step output\n\n### Backflow plan\n\n**1 sync** · rows: **3** to add, **0** to change, **0** to remove\n"))
      #expect(written.contains("| `users_to_crm` | **create** | 3 | 0 | 0 | 3 |  |\n"))
      #expect(!written.contains(Self.token))
    }
  }

  @Test func validateWritesEveryDiagnosticToTheStepSummaryWhateverItsFormat() throws {
    let broken = Self.sync().replacingOccurrences(of: "object: contacts", with: "object: contacts\nmode: upsertt")
    try withProject(["syncs/users_to_crm.yaml": broken]) { directory in
      let summary = directory.appendingPathComponent("summary.md")
      let result = try backflow(
        ["validate", "--format", "github"], in: directory,
        environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path])
      #expect(result.status == 1)
      #expect(result.stdout.hasPrefix("::error file=syncs/users_to_crm.yaml,line="))
      let written = try String(contentsOf: summary, encoding: .utf8)
      #expect(written.hasPrefix("### ❌ Backflow validate: the project is not valid\n\n"), "\(written)")
      #expect(written.contains(" checked: **1 error**, 0 warnings.\n"))
      let row = try #require(written.split(separator: "\n").first { $0.hasPrefix("| `syncs/users_to_crm.yaml:") })
      #expect(row.contains("| error | ") && row.contains("upsertt"))

      ProjectFixture.write(["syncs/users_to_crm.yaml": Self.sync()], into: directory, over: [:])
      try FileManager.default.removeItem(at: summary)
      let valid = try backflow(
        ["validate"], in: directory, environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path])
      #expect(valid.status == 0, "\(valid.stdout)")
      #expect(try String(contentsOf: summary, encoding: .utf8).hasPrefix("### ✅ Backflow validate: the project is valid\n"))
    }
  }

  /// Syncs whose inline model's query is long and changed since the commit, each by a different
  /// length, so the Markdown plan crosses the limits: `count` syncs of about 2 × `padding` bytes of
  /// diff each.
  func withLongDiffs<Result>(count: Int, padding: Int, _ body: (URL) throws -> Result) throws -> Result {
    func sync(_ index: Int, _ letter: String) -> String {
      let comment = String(repeating: letter, count: padding + index * 10)
      return """
        model:
          source: warehouse
          primary_key: user_id
          query: "select user_id, email, first_name from users -- \(comment)"
        destination: local
        object: contacts
        match: { email: email }
        mappings:
          - { from: first_name, to: first_name }
        enabled: false

        """
    }
    func name(_ index: Int) -> String { "syncs/sync_\(String(1000 + index).dropFirst()).yaml" }
    return try withProject(Dictionary(uniqueKeysWithValues: (0..<count).map { (name($0), sync($0, "a")) })) { directory in
      _ = try commitProject(in: directory)
      ProjectFixture.write(Dictionary(uniqueKeysWithValues: (0..<count).map { (name($0), sync($0, "b")) }), into: directory, over: [:])
      return try body(directory)
    }
  }

  @Test func aHugePlanKeepsTheStepSummaryUnderOneMiBWithTheCountsFirst() throws {
    try withLongDiffs(count: 260, padding: 2_000) { directory in
      let summary = directory.appendingPathComponent("summary.md")
      let result = try backflow(
        ["plan", "--base", "HEAD", "--format", "json"], in: directory,
        environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.path])
      #expect(result.status == 0, "\(result.stderr)")
      let written = try String(contentsOf: summary, encoding: .utf8)
      // The whole plan would be over 1 MiB: 260 diffs of two lines of 2–4.6 KB.
      #expect(written.utf8.count <= 1_048_576)
      #expect(written.utf8.count > 1_000_000)
      #expect(written.hasPrefix("### Backflow plan\n\n**260 syncs** · rows: **0** to add"))
      #expect(written.contains("| `sync_259` | **create** | changed (1) |"))
      // The largest diffs are the ones left out, and named.
      #expect(written.contains("<summary><code>sync_000</code>"))
      #expect(!written.contains("<summary><code>sync_259</code>"))
      #expect(written.contains("> ✂️ Config diffs left out to fit: "))
      #expect(written.contains("`sync_259`"))
    }
  }

  @Test func markdownFitsAPullRequestCommentFoldingTheLargestDiffsFirst() throws {
    try withLongDiffs(count: 40, padding: 1_000) { directory in
      let result = try backflow(["plan", "--base", "HEAD", "--format", "markdown"], in: directory)
      #expect(result.status == 0, "\(result.stderr)")
      let markdown = result.stdout
      #expect(markdown.utf8.count <= 65_535)
      #expect(markdown.hasPrefix("### Backflow plan\n\n**40 syncs** · rows: **0** to add"))
      // Every sync keeps its row in the table.
      #expect((0..<40).allSatisfy { markdown.contains("| `sync_\(String(1000 + $0).dropFirst())` | **create** |") })
      #expect(markdown.contains("<summary><code>sync_000</code>: 1 change since <code>HEAD</code></summary>"))
      #expect(!markdown.contains("<summary><code>sync_039</code>"))
      let note = try #require(markdown.firstMatch(of: /> ✂️ Config diffs left out to fit: (.*)\. Run/))
      #expect(note.1.contains("`sync_039`") && note.1.contains("`sync_038`") && !note.1.contains("`sync_000`"))
      // Every fold that was kept is whole.
      #expect(markdown.components(separatedBy: "<details>").count == markdown.components(separatedBy: "</details>").count)
    }
  }

  @Test func aTableTooLongForACommentIsCutWithACount() throws {
    let count = 1_000
    let files = Dictionary(
      uniqueKeysWithValues: (0..<count).map { index in
        ("syncs/customer_accounts_to_salesforce_\(String(10_000 + index).dropFirst()).yaml", Self.sync() + "enabled: false\n")
      })
    try withProject(files) { directory in
      let result = try backflow(["plan", "--format", "markdown"], in: directory)
      #expect(result.status == 0, "\(result.stderr)")
      let markdown = result.stdout
      #expect(markdown.utf8.count <= 65_535)
      #expect(markdown.hasPrefix("### Backflow plan\n\n**1000 syncs** · rows: **0** to add"))
      #expect(markdown.contains("| `customer_accounts_to_salesforce_0000` | **create** |"))
      #expect(!markdown.contains("`customer_accounts_to_salesforce_0999`"))
      let cut = try #require(markdown.firstMatch(of: /_… and (\d+) more syncs, left out to fit/))
      let shown = markdown.matches(of: /\| `customer_accounts_to_salesforce_\d+` \|/).count
      #expect(shown + (Int(cut.1) ?? 0) == count)
    }
  }

  // MARK: The example workflow

  @Test func theExampleWorkflowHasEveryJobAndTrigger() throws {
    let url = ProjectFixture.repositoryRoot.appendingPathComponent("examples/ci/backflow.yml")
    let workflow = try #require(try Yams.compose(yaml: String(contentsOf: url, encoding: .utf8)))
    func value(_ node: Node?, _ key: String) -> Node? {
      node?.mapping?.first { $0.key.string == key }?.value
    }
    let triggers = try #require(value(workflow, "on"))
    #expect(value(value(triggers, "push"), "branches")?.sequence?.map(\.string) == ["main"])
    #expect(value(triggers, "pull_request") != nil)
    #expect(value(triggers, "schedule")?.sequence?.first.flatMap { value($0, "cron")?.string } == "*/10 * * * *")
    #expect(value(value(workflow, "concurrency"), "group")?.string?.contains("backflow-apply") == true)
    #expect(value(value(workflow, "env"), "BACKFLOW_STATE_URL")?.string == "${{ secrets.BACKFLOW_STATE_URL }}")

    let jobs = try #require(value(workflow, "jobs"))
    func commands(_ job: String) -> String {
      (value(value(jobs, job), "steps")?.sequence ?? []).compactMap { value($0, "run")?.string }.joined(separator: "\n")
    }
    #expect(commands("plan").contains("backflow validate --format github"))
    #expect(commands("plan").contains("backflow plan --base \"origin/${{ github.base_ref }}\" --format markdown"))
    #expect(value(value(jobs, "plan"), "if")?.string == "github.event_name == 'pull_request'")
    #expect(
      (value(value(jobs, "plan"), "steps")?.sequence ?? []).contains {
        value($0, "uses")?.string?.hasPrefix("marocchino/sticky-pull-request-comment@") == true
      })
    #expect(commands("apply").contains("backflow apply --auto-approve"))
    #expect(commands("scheduled").contains("backflow apply --due --auto-approve"))
    #expect(value(value(jobs, "scheduled"), "if")?.string == "github.event_name == 'schedule'")
  }

  /// Each sync of a JSON plan, by name.
  func syncs(_ json: JSONValue) -> [(name: String, json: JSONValue)] {
    guard case let .array(syncs)? = json["syncs"] else { return [] }
    return syncs.compactMap { sync in
      guard case let .string(name)? = sync["name"] else { return nil }
      return (name, sync)
    }
  }
}
