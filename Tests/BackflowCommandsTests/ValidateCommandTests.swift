import BackflowCommands
import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// `backflow validate` run as a user runs it: the built executable, its output and exit status.
@Suite("backflow validate")
struct ValidateCommandTests {
  static let sync = "model: users\ndestination: local\nobject: contacts\nmatch: { email: email }\n"

  func validate(_ files: [String: String], _ arguments: [String] = [], environment: [String: String] = [:]) throws -> BackflowProcess.Output {
    try withTemporaryDirectory { directory in
      ProjectFixture.write(files, into: directory)
      return try BackflowProcess.run(["validate"] + arguments, in: directory, environment: environment)
    }
  }

  @Test func validProjectExitsZeroAndListsItsSyncs() throws {
    let result = try validate(["syncs/users_to_crm.yaml": Self.sync + "schedule: { every: 15m }\n"])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("Success! The project is valid: 1 sync, 1 shared model, 1 source, 3 destinations."))
    #expect(result.stdout.contains("users_to_crm  object  upsert  users  local.contacts  every 15m"))
    #expect(!result.stdout.contains("\u{1B}["), "no colour without a terminal")
  }

  @Test func verboseNamesTheFilesRead() throws {
    let result = try validate(["syncs/s.yaml": Self.sync], ["-v"])
    #expect(result.stdout.hasPrefix("Checked 3 files: backflow.yaml, syncs/models/users.yaml, syncs/s.yaml\n"))
    let quiet = try validate(["syncs/s.yaml": Self.sync], ["-q"])
    #expect(quiet.status == 0 && quiet.stdout.isEmpty)
  }

  @Test func invalidProjectExitsOneWithGNUStyleLines() throws {
    let result = try validate(["syncs/s.yaml": Self.sync + "mdoe: upsert\nbatch: { size: 0 }\n"])
    #expect(result.status == 1)
    #expect(
      result.stdout == """
        syncs/s.yaml:5:1: error: unknown key "mdoe" in sync; did you mean "mode"?
        syncs/s.yaml:6:16: error: batch.size must be at least 1, got 0
        2 errors; the project is not valid

        """)
  }

  @Test func projectOptionPrefixesPaths() throws {
    try withTemporaryDirectory { directory in
      let project = directory.appendingPathComponent("analytics/backflow")
      ProjectFixture.write(["syncs/s.yaml": Self.sync + "mdoe: x\n"], into: project)
      let result = try BackflowProcess.run(["validate", "--project", "analytics/backflow"], in: directory)
      #expect(result.status == 1)
      #expect(result.stdout.hasPrefix("analytics/backflow/syncs/s.yaml:5:1: error: unknown key \"mdoe\""))
    }
  }

  @Test func jsonIsShapedLikeTerraformValidate() throws {
    let result = try validate(
      ["syncs/s.yaml": Self.sync + "mode: upsertt\n", "syncs/models/orphan.yaml": ProjectFixture.modelFile],
      ["--format", "json"])
    #expect(result.status == 1)
    let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(document["format_version"] as? String == "1.0")
    #expect(document["valid"] as? Bool == false)
    #expect(document["error_count"] as? Int == 1)
    #expect(document["warning_count"] as? Int == 1)
    let diagnostics = try #require(document["diagnostics"] as? [[String: Any]])
    #expect(diagnostics.count == 2)
    #expect(diagnostics[0]["severity"] as? String == "warning", "sorted by file: syncs/models/ first")
    let first = diagnostics[1]
    #expect(first["severity"] as? String == "error")
    #expect((first["summary"] as? String)?.hasPrefix("mode must be one of upsert") == true)
    #expect(first["detail"] as? String == "")
    let range = try #require(first["range"] as? [String: Any])
    #expect(range["filename"] as? String == "syncs/s.yaml")
    #expect((range["start"] as? [String: Int]) == ["line": 5, "column": 7])
    #expect((range["end"] as? [String: Int]) == ["line": 5, "column": 14])
    #expect(result.stdout.hasPrefix("{\n  \"format_version\": \"1.0\",\n  \"valid\": false,"), "documented key order")
  }

  @Test func jsonForAValidProject() throws {
    let result = try validate(["syncs/s.yaml": Self.sync], ["--format", "json"])
    #expect(result.status == 0)
    #expect(
      result.stdout == """
        {
          "format_version": "1.0",
          "valid": true,
          "error_count": 0,
          "warning_count": 0,
          "diagnostics": []
        }

        """)
  }

  @Test func githubAnnotatesTenPerSeverityAndCountsTheRest() throws {
    var files: [String: String] = [:]
    for index in 0..<12 { files["syncs/s\(index < 10 ? "0" : "")\(index).yaml"] = Self.sync + "mode: upsertt\n" }
    let result = try validate(files, ["--format", "github"])
    #expect(result.status == 1)
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 11)
    #expect(lines.filter { $0.hasPrefix("::error ") }.count == 10)
    #expect(
      lines[0] == "::error file=syncs/s00.yaml,line=5,col=7,endColumn=14,title=backflow validate::"
        + "mode must be one of upsert, update, insert, mirror, add_remove, got \"upsertt\"; did you mean \"upsert\"?")
    #expect(lines[10].hasPrefix("::notice title=backflow validate::2 errors more not shown"))
  }

  @Test func githubEscapesWhatWouldBreakTheCommand() {
    let renderer = DiagnosticRenderer(terminal: Terminal(colors: false))
    var diagnostics = BackflowConfig.Diagnostics()
    diagnostics.error("100% wrong,\nreally", at: .init(file: "a,b:c.yaml", line: 1, column: 2))
    #expect(renderer.github(diagnostics.sorted) == "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=backflow validate::100%25 wrong,%0Areally\n")
  }

  @Test func secretsNeverReachAnyFormat() throws {
    let secret = "hunter2-0c1f"
    let files = [
      "backflow.yaml": ProjectFixture.projectFile + "sync_logs: { source: warehouse, schema: \"${AUDIT_SCHEMA}\" }\n",
      // Unquoted ${…} is only plain YAML outside { } flow mappings.
      "syncs/s.yaml": Self.sync + "batch:\n  size: ${BATCH_SIZE}\nschedule: { cron: \"${CRON}\" }\n",
    ]
    let environment = ["AUDIT_SCHEMA": "bad schema \(secret)", "BATCH_SIZE": "many-\(secret)", "CRON": "every \(secret)"]
    for format in ["text", "json", "github"] {
      let result = try validate(files, ["--format", format], environment: environment)
      #expect(result.status == 1)
      #expect(result.stdout.components(separatedBy: "the value read from the environment").count - 1 == 3, "\(result.stdout)")
      #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "\(format) leaked: \(result.stdout)")
    }
  }

  @Test func unsetVariablesAreNamed() throws {
    let result = try validate([
      "backflow.yaml": ProjectFixture.projectFile.replacingOccurrences(of: "\"http://127.0.0.1:8080\"", with: "\"${CRM_URL}\"")
    ])
    #expect(result.status == 1)
    #expect(result.stdout.contains("backflow.yaml:6:27: error: destinations.api.url reads environment variable \"CRM_URL\", which is not set"))
  }

  @Test func badStateOverrideIsAnError() throws {
    let result = try validate(["syncs/s.yaml": Self.sync], ["--state", "mysql://x"])
    #expect(result.status == 1)
    #expect(result.stdout.contains("--state:1:1: error: --state must be sqlite:PATH, a postgres:// URL or a libpq key=value string (host=… dbname=…)"))
  }
}
