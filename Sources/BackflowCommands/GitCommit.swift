import BackflowConfig
import Foundation

/// The git commit a project's files come from.
enum GitCommit {
  /// `git rev-parse HEAD` in `directory`; `nil` outside a repository or without git.
  static func head(of directory: URL) -> String? {
    ProgramOutput.text(
      of: URL(fileURLWithPath: "/usr/bin/env"), ["git", "-C", directory.path, "rev-parse", "--verify", "--quiet", "HEAD"])
  }
}
