import BackflowConfig
import Foundation

/// The job summary of a GitHub Actions step: when `GITHUB_ACTIONS=true`, commands append their
/// Markdown to the file `$GITHUB_STEP_SUMMARY` names, kept under GitHub's 1 MiB per step.
enum StepSummary {
  /// The file to append to: set only inside GitHub Actions.
  static func file(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
    guard environment["GITHUB_ACTIONS"] == "true", let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty
    else { return nil }
    return URL(fileURLWithPath: path)
  }

  /// Appends `render(limit)`, where `limit` is the room left in this step's summary, so a
  /// renderer that knows its document can fold it well. Returns whether anything was written.
  /// A summary that cannot be written is a warning: it must not fail the command it reports on.
  @discardableResult
  static func write(
    environment: [String: String] = ProcessInfo.processInfo.environment, _ render: (_ limit: Int) -> String
  ) -> Bool {
    guard let url = file(environment: environment) else { return false }
    let existing = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    // A blank line separates this from what the step wrote before; the rest is ours.
    let room = MarkdownBudget.stepSummary - existing - 2
    guard room > 1024 else {
      printError("warning: the GitHub step summary is full (1 MiB); Backflow's summary was not added", prefix: false)
      return false
    }
    // A summary lands in a page other people read: credentials masked before the size check.
    var markdown = Redaction.redact(render(room))
    // The renderer is trusted to fit, and checked: GitHub drops a summary over the limit.
    if MarkdownBudget.size(markdown) > room {
      markdown = MarkdownBudget.truncated(markdown, limit: room, note: cutNote)
    }
    if !markdown.hasSuffix("\n") { markdown += "\n" }
    do {
      if !FileManager.default.fileExists(atPath: url.path) {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
      }
      let handle = try FileHandle(forWritingTo: url)
      defer { try? handle.close() }
      try handle.seekToEnd()
      try handle.write(contentsOf: Data(((existing > 0 ? "\n" : "") + markdown).utf8))
      return true
    } catch {
      printError(
        "warning: cannot write the GitHub step summary to \(url.path): \(error.localizedDescription)", prefix: false)
      return false
    }
  }

  /// Appends `markdown`, cut at a line to fit if it must (counts come first, so they stay).
  @discardableResult
  static func write(_ markdown: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
    write(environment: environment) { limit in MarkdownBudget.truncated(markdown, limit: limit, note: cutNote) }
  }

  /// What replaces the lines cut from a summary.
  static func cutNote(_ lines: Int) -> String {
    "> ✂️ The rest of this summary (\(plural(lines, "line"))) was cut to stay under GitHub's 1 MiB limit "
      + "for a step summary; the job log has everything."
  }
}
