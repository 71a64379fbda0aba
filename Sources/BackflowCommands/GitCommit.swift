import Foundation

/// The git commit a project's files come from.
enum GitCommit {
  /// `git rev-parse HEAD` in `directory`; `nil` outside a repository or without git.
  static func head(of directory: URL) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", directory.path, "rev-parse", "--verify", "--quiet", "HEAD"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return nil
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return process.terminationStatus == 0 && !commit.isEmpty ? commit : nil
  }
}
