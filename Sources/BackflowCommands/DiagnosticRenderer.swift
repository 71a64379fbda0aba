import BackflowConfig
import Foundation

/// Turns diagnostics into the text, JSON or GitHub form `validate --format` asks for.
public struct DiagnosticRenderer: Sendable {
  /// GitHub shows at most this many annotations of each severity per step.
  public static let githubLimitPerSeverity = 10

  public var terminal: Terminal

  public init(terminal: Terminal) {
    self.terminal = terminal
  }

  public func render(_ diagnostics: Diagnostics, as format: DiagnosticFormat) -> String {
    switch format {
    case .text: text(diagnostics.sorted)
    case .json: json(diagnostics)
    case .github: github(diagnostics.sorted)
    }
  }

  /// `file:line:col: error: message`, one a line.
  public func text(_ diagnostics: [Diagnostic]) -> String {
    diagnostics.map { diagnostic in
      let severity =
        diagnostic.severity == .error
        ? terminal.paint("error:", .red) : terminal.paint("warning:", .yellow)
      return "\(terminal.paint("\(diagnostic.location):", .bold)) \(severity) \(diagnostic.message)\n"
    }.joined()
  }

  /// The shape of `terraform validate -json`, so tooling that reads it reads this.
  public func json(_ diagnostics: Diagnostics) -> String {
    let entries: [JSONValue] = diagnostics.sorted.map { diagnostic in
      .object([
        ("severity", .string(diagnostic.severity.rawValue)),
        ("summary", .string(diagnostic.message)),
        ("detail", .string("")),
        (
          "range",
          .object([
            ("filename", .string(diagnostic.location.file)),
            ("start", position(diagnostic.location)),
            ("end", position(diagnostic.end)),
          ])
        ),
      ])
    }
    let document = JSONValue.object([
      ("format_version", .string("1.0")),
      ("valid", .bool(!diagnostics.hasErrors)),
      ("error_count", .int(diagnostics.errorCount)),
      ("warning_count", .int(diagnostics.warningCount)),
      ("diagnostics", .array(entries)),
    ])
    return document.rendered() + "\n"
  }

  private func position(_ location: SourceLocation) -> JSONValue {
    .object([("line", .int(location.line)), ("column", .int(location.column))])
  }

  /// `::error file=…,line=…,col=…,title=…::message`, the first ten of each severity, then a
  /// notice that counts the rest so nothing disappears silently.
  public func github(_ diagnostics: [Diagnostic]) -> String {
    var lines: [String] = []
    var hidden: [Diagnostic.Severity: Int] = [:]
    var shown: [Diagnostic.Severity: Int] = [:]
    for diagnostic in diagnostics {
      guard shown[diagnostic.severity, default: 0] < Self.githubLimitPerSeverity else {
        hidden[diagnostic.severity, default: 0] += 1
        continue
      }
      shown[diagnostic.severity, default: 0] += 1
      var properties = [
        "file=\(escapeProperty(diagnostic.location.file))",
        "line=\(diagnostic.location.line)",
        "col=\(diagnostic.location.column)",
      ]
      if diagnostic.end.line == diagnostic.location.line, diagnostic.end.column > diagnostic.location.column {
        properties.append("endColumn=\(diagnostic.end.column)")
      }
      properties.append("title=\(escapeProperty("backflow validate"))")
      lines.append("::\(diagnostic.severity.rawValue) \(properties.joined(separator: ","))::\(escapeData(diagnostic.message))")
    }
    let errors = hidden[.error, default: 0]
    let warnings = hidden[.warning, default: 0]
    if errors + warnings > 0 {
      let counts = [plural(errors, "error"), plural(warnings, "warning")].filter { !$0.hasPrefix("0 ") }
      lines.append("::notice title=backflow validate::\(counts.joined(separator: " and ")) more not shown (GitHub shows \(Self.githubLimitPerSeverity) of each); run backflow validate to see them all")
    }
    return lines.map { $0 + "\n" }.joined()
  }

  /// The job summary of `validate` in GitHub Actions: the verdict and counts, then every
  /// diagnostic as a table row (GitHub annotates only ten of each severity).
  public func markdown(_ diagnostics: Diagnostics, files: Int) -> String {
    let verdict = diagnostics.hasErrors ? "### ❌ Backflow validate: the project is not valid" : "### ✅ Backflow validate: the project is valid"
    var lines = [
      verdict, "",
      "\(plural(files, "file")) checked: **\(plural(diagnostics.errorCount, "error"))**, \(plural(diagnostics.warningCount, "warning")).",
    ]
    if !diagnostics.all.isEmpty {
      lines += ["", "| where | severity | problem |", "| --- | --- | --- |"]
      lines += diagnostics.sorted.map { diagnostic in
        "| `\(MarkdownBudget.escaped("\(diagnostic.location)").replacing("`", with: "'"))` | \(diagnostic.severity.rawValue) | "
          + "\(MarkdownBudget.escaped(diagnostic.message)) |"
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  // Escaping as the Actions toolkit does it (toolkit/packages/core/src/command.ts).
  private func escapeData(_ text: String) -> String {
    text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
      .replacingOccurrences(of: "\n", with: "%0A")
  }

  private func escapeProperty(_ text: String) -> String {
    escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
  }
}
