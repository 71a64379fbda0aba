import BackflowCommands
import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// `backflow version` from the debug build: the cheap check `make test` keeps of what
/// `make release` (and scripts/check-release.sh) check in full.
@Suite("backflow version")
struct VersionCommandTests {
  @Test func aPlainBuildPrintsItsVersionAndSaysItsCommitIsUnknown() throws {
    let directory = FileManager.default.temporaryDirectory
    let text = try BackflowProcess.run(["version"], in: directory)
    #expect(text.status == 0)
    #expect(text.stdout == "backflow \(BackflowVersion.current) (commit unknown)\n")
    let json = try BackflowProcess.run(["version", "--format", "json"], in: directory)
    #expect(json.status == 0)
    let parsed = try JSONValue.parse(json.stdout)
    #expect(parsed["format_version"] == .int(1))
    #expect(parsed["version"] == .string(BackflowVersion.current))
    #expect(parsed["commit"] == .null)
  }
}
