import BackflowConfig
import BackflowDestinations

/// Turns a destination's trace into the lines `backflow test` prints: `→` for what is sent,
/// `←` for what comes back, details indented below.
struct TraceRenderer: Sendable {
  let terminal: Terminal

  func lines(_ event: DestinationTraceEvent) -> [String] {
    switch event {
    case let .request(method, url, headers, body, attempt):
      let again = attempt > 1 ? terminal.paint(" (attempt \(attempt))", .dim) : ""
      var lines = [arrow("→") + " \(method) \(url)" + again]
      lines += headers.map { "  \($0.name): \($0.value)" }
      lines.append("")
      lines.append("  " + body)
      return lines
    case let .response(status, reason, body):
      let style: Terminal.Style = (200..<300).contains(status) ? .green : .red
      return [arrow("←") + " " + terminal.paint("\(status) \(reason)", style)] + (body.isEmpty ? [] : ["  " + body])
    case let .noResponse(reason):
      return [arrow("←") + " " + terminal.paint("no answer: \(reason)", .red)]
    case let .retrying(after):
      return [terminal.paint("  retrying in \(Self.describe(after))", .dim)]
    case let .statement(sql, parameters):
      var lines = indented(sql, first: arrow("→") + " ")
      if !parameters.isEmpty {
        lines.append("  " + parameters.enumerated().map { "?\($0 + 1) = \($1)" }.joined(separator: ", "))
      }
      return lines
    case let .copy(sql, rows):
      return indented(sql, first: arrow("→") + " ") + rows.map { "  row: " + $0.joined(separator: ", ") }
    case let .result(text):
      let failed = text.hasPrefix("error:")
      return [arrow("←") + " " + (failed ? terminal.paint(text, .red) : text)]
    case let .line(file, text):
      return [arrow("→") + " \(file)", "  " + text]
    }
  }

  private func arrow(_ symbol: String) -> String {
    terminal.paint(symbol, .bold)
  }

  /// SQL of several lines, the first after `first`, the rest indented under it.
  private func indented(_ text: String, first: String) -> [String] {
    let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
    return [first + (parts.first ?? "")] + parts.dropFirst().map { "  " + $0 }
  }

  /// `0s`, `250ms`, `1.5s`.
  static func describe(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    if milliseconds < 1000 { return "\(milliseconds)ms" }
    if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
    return "\(Double(milliseconds) / 1000)s"
  }
}
