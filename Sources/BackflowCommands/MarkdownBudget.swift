/// Markdown size limits set by GitHub, and cutting a document to fit one.
///
/// Sizes are counted in UTF-8 bytes: GitHub limits a comment to 65,535 characters and a step
/// summary to 1 MiB, and a character is never fewer bytes than one, so bytes are the safe count.
enum MarkdownBudget {
  /// The longest pull-request or issue comment GitHub accepts.
  static let comment = 65_535
  /// The most a step may write to `$GITHUB_STEP_SUMMARY`.
  static let stepSummary = 1_048_576

  /// The size `text` counts for against a limit.
  static func size(_ text: String) -> Int { text.utf8.count }

  /// `markdown` if it fits in `limit`, else its first whole lines that do, with any open code
  /// fence and `<details>` closed, then `note(lines cut)`. Documents put their counts first, so
  /// the counts survive the cut.
  static func truncated(_ markdown: String, limit: Int, note: (Int) -> String) -> String {
    guard size(markdown) > limit else { return markdown }
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false)
    // Room for the note and for closing what is open when the cut comes.
    let reserve = size(note(lines.count)) + 64
    var kept: [Substring] = []
    var used = 0
    var fence: Substring?
    var openDetails = 0
    for line in lines {
      let cost = line.utf8.count + 1
      guard used + cost + reserve + closers(fence: fence, details: openDetails) <= limit else { break }
      kept.append(line)
      used += cost
      let trimmed = line.drop { $0 == " " }
      if let open = fence {
        if trimmed.hasPrefix(open), trimmed.drop(while: { $0 == open.first }).allSatisfy(\.isWhitespace) { fence = nil }
      } else if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
        fence = trimmed.prefix { $0 == trimmed.first }
      } else {
        openDetails += line.matches(of: /<details\b/).count
        openDetails = max(0, openDetails - line.matches(of: /<\/details>/).count)
      }
    }
    var output = kept.joined(separator: "\n")
    if let fence { output += "\n" + fence }
    output += String(repeating: "\n\n</details>", count: openDetails)
    return output + "\n\n" + note(lines.count - kept.count) + "\n"
  }

  /// The bytes that closing an open fence and `openDetails` `<details>` takes.
  private static func closers(fence: Substring?, details: Int) -> Int {
    (fence.map { $0.utf8.count + 1 } ?? 0) + details * 12
  }

  /// A code fence longer than any run of backticks in `text`, so the text cannot end it.
  static func fence(for text: String) -> String {
    var longest = 0
    var run = 0
    for character in text {
      run = character == "`" ? run + 1 : 0
      longest = max(longest, run)
    }
    return String(repeating: "`", count: max(3, longest + 1))
  }

  /// `text` safe in a table cell or a paragraph: no pipes breaking cells, no HTML, one line.
  static func escaped(_ text: String) -> String {
    text.replacing("\\", with: "\\\\").replacing("|", with: "\\|").replacing("<", with: "&lt;")
      .replacing("\r\n", with: " ").replacing("\n", with: " ")
  }
}
