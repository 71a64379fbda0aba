@testable import BackflowConfig
import Foundation
import Testing

/// What a killed command leaves in the temporary directory is removed by the next one on the same
/// host, and nothing a live process, another host or anyone else holds.
@Suite("temporary files")
struct TemporaryFilesTests {
  @Test func aNameCarriesThisHostAndThisProcess() {
    let url = TemporaryFiles.url("plan", suffix: ".plan")
    #expect(url.lastPathComponent.hasPrefix("backflow-plan-") && url.pathExtension == "plan")
    #expect(TemporaryFiles.ownerOnThisHost(url.lastPathComponent) == getpid())
    #expect(TemporaryFiles.ownerOnThisHost(TemporaryFiles.url("changelog").lastPathComponent) == getpid())
    #expect(!TemporaryFiles.host.contains(".") && !TemporaryFiles.host.isEmpty)
    // Linux says the host's name here too; any other character than letters and digits becomes `_`.
    if let name = try? String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8) {
      let expected = name.trimmingCharacters(in: .newlines).map { $0.isLetter || $0.isNumber ? $0 : "_" }
      #expect(TemporaryFiles.host == String(expected))
    }
  }

  @Test func onlyWhatEndedProcessesOfThisHostLeftIsRemoved() throws {
    let ended = try Self.endedProcess()
    let directory = FileManager.default.temporaryDirectory
    func path(_ name: String) -> URL { directory.appendingPathComponent(name) }
    let leftPlan = TemporaryFiles.url("plan", suffix: ".plan", host: TemporaryFiles.host, pid: ended)
    let leftRows = path(".\(leftPlan.lastPathComponent).rows.tmp")
    let leftFolder = TemporaryFiles.url("base", suffix: "", host: TemporaryFiles.host, pid: ended)
    let live = TemporaryFiles.url("plan", suffix: ".plan")
    let otherHost = TemporaryFiles.url("plan", suffix: ".plan", host: "elsewhere\(UUID().uuidString.prefix(8))", pid: ended)
    let unnamed = path("backflow-\(UUID().uuidString).plan")
    let someoneElses = path("backflow-notes-\(UUID().uuidString.prefix(8)).\(TemporaryFiles.host).\(ended).txt")
    let kept = [live, otherHost, unnamed, someoneElses]
    defer { for url in kept + [leftPlan, leftRows, leftFolder] { try? FileManager.default.removeItem(at: url) } }
    for url in [leftPlan, leftRows] + kept {
      #expect(FileManager.default.createFile(atPath: url.path, contents: Data("rows".utf8)))
    }
    let inFolder = leftFolder.appendingPathComponent("syncs")
    try FileManager.default.createDirectory(at: inFolder, withIntermediateDirectories: true)

    TemporaryFiles.removeLeftovers()

    #expect(!FileManager.default.fileExists(atPath: leftPlan.path))
    #expect(!FileManager.default.fileExists(atPath: leftRows.path))
    #expect(!FileManager.default.fileExists(atPath: leftFolder.path))
    for url in kept { #expect(FileManager.default.fileExists(atPath: url.path), "\(url.lastPathComponent)") }
  }

  /// The id of a process that has run and ended.
  static func endedProcess() throws -> pid_t {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "exit 0"]
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
  }
}
