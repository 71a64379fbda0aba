import BackflowTestSupport
import Foundation
import Testing

@Suite("backflow init")
struct InitCommandTests {
  @Test func scaffoldValidatesAndPassesTheSchemas() throws {
    try withTemporaryDirectory { directory in
      let created = try BackflowProcess.run(["init"], in: directory)
      #expect(created.status == 0, "\(created.stderr)")
      for path in ["backflow.yaml", "syncs/customers_to_csv.yaml", "syncs/models/customers.yaml", ".gitignore",
                   "schemas/project.schema.json", "schemas/sync.schema.json", "schemas/model.schema.json"] {
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path), "\(path)")
      }
      let gitignore = try String(contentsOf: directory.appendingPathComponent(".gitignore"), encoding: .utf8)
      #expect(gitignore.split(separator: "\n").contains(".backflow/"))

      let validated = try BackflowProcess.run(["validate"], in: directory)
      #expect(validated.status == 0, "\(validated.stdout)")
      #expect(validated.stdout.contains("warning") == false)

      // The schemas init writes are the repository's, byte for byte.
      for name in ["project", "sync", "model"] {
        let written = try Data(contentsOf: directory.appendingPathComponent("schemas/\(name).schema.json"))
        let source = try Data(contentsOf: ProjectFixture.repositoryRoot.appendingPathComponent("schemas/\(name).schema.json"))
        #expect(written == source, "\(name).schema.json")
      }

      let script = ProjectFixture.repositoryRoot.appendingPathComponent("scripts/check_schemas.py").path
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["python3", script, directory.path]
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0)
    }
  }

  @Test func refusesToOverwriteAndWritesNothing() throws {
    try withTemporaryDirectory { directory in
      let existing = "version: 1 # mine\n"
      try Data(existing.utf8).write(to: directory.appendingPathComponent("backflow.yaml"))
      let result = try BackflowProcess.run(["init"], in: directory)
      #expect(result.status == 1)
      #expect(result.stderr.contains("backflow.yaml already exists; backflow init only writes into a new project"))
      #expect(try String(contentsOf: directory.appendingPathComponent("backflow.yaml"), encoding: .utf8) == existing)
      #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("syncs").path))
    }
  }
}
