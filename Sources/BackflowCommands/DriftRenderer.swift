import BackflowConfig
import BackflowPlanner

/// Turns a drift report into text, JSON or Markdown. Values read from destinations are data:
/// only a sample of records is shown, each value cut short.
struct DriftRenderer {
  let report: DriftReport
  let terminal: Terminal
  /// How the state store is named in the output, its password removed.
  let stateDescription: String

  /// The documented JSON's version (docs/drift.md).
  static let formatVersion = 1
  /// The most characters of one value shown.
  static let valueLength = 40

  func render(as format: PlanFormat) -> String {
    switch format {
    case .text: text()
    case .json: json().rendered() + "\n"
    case .markdown: markdown()
    }
  }

  // MARK: Text

  func text() -> String {
    var output = terminal.paint("Backflow drift", .bold) + " · state \(stateDescription)"
    output += report.commit.map { " · commit \($0.prefix(12))" } ?? ""
    output += "\n\n"
    if report.syncs.isEmpty { output += "No syncs selected.\n\n" }
    for sync in report.syncs {
      output += block(for: sync).joined(separator: "\n") + "\n\n"
    }
    output += summary()
    if report.repaired { output += "\n" + repairLines().joined(separator: "\n") }
    return output + "\n"
  }

  private func block(for sync: DriftReport.Sync) -> [String] {
    var heading: String
    let id = sync.id.map { terminal.paint(" #\($0)", .dim) } ?? ""
    switch sync.config.status {
    case .inSync:
      heading = terminal.paint("  \(sync.name)", .bold) + id + " config as applied" + applied(sync.config)
    case .changed:
      heading =
        terminal.paint("~ \(sync.name)", .yellow) + id + " config differs from the config applied" + applied(sync.config)
    case .neverApplied:
      heading = terminal.paint("+ \(sync.name)", .green) + " never applied: the next apply creates it"
    case .orphaned:
      heading =
        terminal.paint("- \(sync.name)", .red) + id + " applied" + applied(sync.config)
        + " but gone from the repository: the next apply retires it (its records are left as they are)"
    }
    var lines = [heading]
    for change in sync.config.changes { lines.append("    " + diffLine(change)) }
    if let pending = sync.pending {
      lines.append("    " + terminal.paint("pending:", .yellow) + " \(pending.action.noun), \(pending.attribution)")
    }
    if let data = sync.data { lines += dataLines(data) }
    return lines
  }

  /// ` at 2024-05-01T12:00:00Z (commit abc123def456)`.
  private func applied(_ config: DriftConfig) -> String {
    var text = config.appliedAt.map { " at \($0)" } ?? ""
    text += config.appliedCommit.map { " (commit \($0.prefix(12)))" } ?? ""
    return text
  }

  private func diffLine(_ change: ConfigChange) -> String {
    switch (change.before, change.after) {
    case let (nil, after?): terminal.paint("+ \(change.path): \(shown(after))", .green)
    case let (before?, nil): terminal.paint("- \(change.path): \(shown(before))", .red)
    default:
      terminal.paint("~ \(change.path):", .yellow) + " \(change.before.map(shown) ?? "null") → \(change.after.map(shown) ?? "null")"
    }
  }

  private func shown(_ value: JSONValue) -> String {
    Self.cut(value.rendered(compact: true), to: 120)
  }

  private func dataLines(_ data: DriftData) -> [String] {
    let prefix = "    data \(data.destination): "
    switch data.status {
    case let .notChecked(reason):
      return [terminal.paint(prefix + "not checked: \(reason)", .dim)]
    case let .failed(message):
      return [prefix + terminal.paint("error: ", .red) + message] + (data.compared > 0 ? sampleLines(data) : [])
    case .checked:
      var lines: [String] = []
      let found = findings(data)
      lines.append(
        prefix + (found.isEmpty ? "no drift" : terminal.paint(found.joined(separator: ", "), .yellow))
          + terminal.paint(" (\(details(data)))", .dim))
      lines += sampleLines(data)
      if let note = data.extraNote { lines.append(terminal.paint("      note: \(note)", .dim)) }
      return lines
    }
  }

  /// `2 records differ, 1 missing, 1 should not be there`.
  private func findings(_ data: DriftData) -> [String] {
    var parts: [String] = []
    if data.differing > 0 { parts.append("\(plural(data.differing, "record")) \(data.differing == 1 ? "differs" : "differ")") }
    if data.missing > 0 { parts.append("\(data.missing) missing") }
    if let extra = data.extra, extra > 0 { parts.append("\(extra) should not be there") }
    return parts
  }

  private func details(_ data: DriftData) -> String {
    var parts = ["\(data.compared) compared"]
    if data.pending > 0 {
      parts.append("\(plural(data.pending, "pending change")) not compared; `backflow plan` shows \(data.pending == 1 ? "it" : "them")")
    }
    if data.rejected > 0 { parts.append("\(data.rejected) rejected rows") }
    return parts.joined(separator: ", ")
  }

  private func sampleLines(_ data: DriftData) -> [String] {
    let name = data.destination.split(separator: "/").first.map(String.init) ?? data.destination
    var lines: [String] = []
    for record in data.differingSample {
      let fields = record.fields.map { field in
        "\(field.name): \(name) has \(quoted(field.destination)), Backflow wrote \(quoted(field.written))"
      }
      lines.append("      " + terminal.paint("~", .yellow) + " \(label(record)): " + fields.joined(separator: "; "))
    }
    if data.differing > data.differingSample.count {
      lines.append("        … and \(data.differing - data.differingSample.count) more that differ")
    }
    for record in data.missingSample {
      lines.append("      " + terminal.paint("-", .red) + " \(label(record)): missing")
    }
    if data.missing > data.missingSample.count {
      lines.append("        … and \(data.missing - data.missingSample.count) more missing")
    }
    for match in data.extraSample {
      lines.append("      " + terminal.paint("+", .red) + " \(Self.cut(match, to: Self.valueLength)): no model row has it")
    }
    if let extra = data.extra, extra > data.extraSample.count {
      lines.append("        … and \(extra - data.extraSample.count) more that should not be there")
    }
    return lines
  }

  /// `ada@example.com (key 1)`.
  private func label(_ record: DriftData.Record) -> String {
    guard let match = record.match else { return "key \(Self.cut(record.key, to: Self.valueLength))" }
    return "\(Self.cut(match, to: Self.valueLength)) (key \(Self.cut(record.key, to: Self.valueLength)))"
  }

  private func quoted(_ value: String?) -> String {
    value.map { JSONValue.quoted(Self.cut($0, to: Self.valueLength)) } ?? "NULL"
  }

  private func summary() -> String {
    let syncs = report.syncs
    var configParts: [String] = []
    for (status, words) in [
      (DriftConfig.Status.changed, "changed"), (.neverApplied, "never applied"), (.orphaned, "gone from the repository"),
    ] {
      let count = syncs.count { $0.config.status == status }
      if count > 0 { configParts.append("\(count) \(words)") }
    }
    let data = syncs.compactMap(\.data)
    let differing = data.reduce(0) { $0 + $1.differing }
    let missing = data.reduce(0) { $0 + $1.missing }
    let extra = data.reduce(0) { $0 + ($1.extra ?? 0) }
    var line = terminal.paint("Drift:", .bold) + " config: " + (configParts.isEmpty ? "none" : configParts.joined(separator: ", "))
    line +=
      data.isEmpty
      ? "; records: not checked." : "; records: \(differing) differ, \(missing) missing, \(extra) should not be there."
    let failures = data.filter(\.failed).count
    if failures > 0 {
      line += "\n" + terminal.paint("\(plural(failures, "sync")) could not be checked (see the errors above).", .red)
    } else if !report.hasDrift {
      line += "\nNo drift: the destinations hold what Backflow last wrote, and the repository what was applied."
    }
    return line
  }

  /// What `--repair` did, per sync, and what it leaves for the user.
  func repairLines() -> [String] {
    var lines: [String] = []
    for sync in report.syncs {
      guard let data = sync.data, let repaired = data.repaired else { continue }
      if repaired > 0 {
        lines.append(
          "Repair: \(sync.name): dropped \(plural(repaired, "snapshot row")) of the drifted records; the next apply "
            + "sends \(repaired == 1 ? "it" : "them") again (`backflow plan` shows \(repaired == 1 ? "it" : "them") as added).")
      }
      if let extra = data.extra, extra > 0 {
        lines.append(
          "Repair: \(sync.name): \(plural(extra, "record")) that should not be there \(extra == 1 ? "is" : "are") left "
            + "as \(extra == 1 ? "it is" : "they are"): delete \(extra == 1 ? "it" : "them") in \(data.destination), or "
            + "`backflow resync \(sync.name) --clear` empties the table and sends every row again.")
      }
    }
    if lines.isEmpty { lines.append("Repair: no drifted record to resend.") }
    if report.syncs.contains(where: { $0.config.hasDrift }) {
      lines.append("Config drift is repaired by `backflow apply`, which applies the repository's config.")
    }
    return lines
  }

  // MARK: JSON

  func json() -> JSONValue {
    .object([
      ("format_version", .int(Self.formatVersion)),
      ("backflow_version", .string(BackflowVersion.current)),
      ("commit", report.commit.map(JSONValue.string) ?? .null),
      ("drift", .bool(report.hasDrift)),
      ("errors", .bool(report.hasErrors)),
      ("repaired", .bool(report.repaired)),
      ("syncs", .array(report.syncs.map(json))),
    ])
  }

  private func json(_ sync: DriftReport.Sync) -> JSONValue {
    let config = sync.config
    return .object([
      ("name", .string(sync.name)),
      ("id", sync.id.map { .int($0) } ?? .null),
      ("drift", .bool(sync.hasDrift)),
      (
        "config",
        .object([
          ("status", .string(config.status.rawValue)),
          (
            "changes",
            .array(
              config.changes.map { change in
                .object([("path", .string(change.path)), ("before", change.before ?? .null), ("after", change.after ?? .null)])
              })
          ),
          ("applied_commit", config.appliedCommit.map(JSONValue.string) ?? .null),
          ("applied_at", config.appliedAt.map(JSONValue.string) ?? .null),
        ])
      ),
      ("data", sync.data.map(json) ?? .null),
      ("pending", sync.pending.map { .string($0.action.rawValue) } ?? .null),
    ])
  }

  private func json(_ data: DriftData) -> JSONValue {
    let (status, reason): (String, String?) =
      switch data.status {
      case .checked: ("checked", nil)
      case let .notChecked(reason): ("not_checked", reason)
      case let .failed(message): ("failed", message)
      }
    func record(_ record: DriftData.Record) -> JSONValue {
      var members: [(String, JSONValue)] = [("key", .string(record.key)), ("match", record.match.map(JSONValue.string) ?? .null)]
      if !record.fields.isEmpty {
        members.append(
          (
            "fields",
            .array(
              record.fields.map { field in
                .object([
                  ("field", .string(field.name)), ("destination", field.destination.map(JSONValue.string) ?? .null),
                  ("written", field.written.map(JSONValue.string) ?? .null),
                ])
              })
          ))
      }
      return .object(members)
    }
    return .object([
      ("status", .string(status)),
      ("reason", reason.map(JSONValue.string) ?? .null),
      ("destination", .string(data.destination)),
      ("compared", .int(data.compared)),
      ("differing", .int(data.differing)),
      ("missing", .int(data.missing)),
      ("extra", data.extra.map { .int($0) } ?? .null),
      ("extra_note", data.extraNote.map(JSONValue.string) ?? .null),
      ("pending", .int(data.pending)),
      ("rejected", .int(data.rejected)),
      (
        "samples",
        .object([
          ("differing", .array(data.differingSample.map(record))),
          ("missing", .array(data.missingSample.map(record))),
          ("extra", .array(data.extraSample.map(JSONValue.string))),
        ])
      ),
      ("repaired", data.repaired.map { .int($0) } ?? .null),
    ])
  }

  // MARK: Markdown

  /// For an issue or pull-request comment: the counts first, a table of every sync, then each
  /// drifted sync's config diff and sample folded; cut to stay under `limit` characters.
  func markdown(limit: Int = MarkdownBudget.comment) -> String {
    let drifted = report.syncs.filter(\.hasDrift)
    var lines = ["### Backflow drift", ""]
    var counts = "**\(plural(report.syncs.count, "sync"))** · **\(drifted.count)** drifted"
    counts += report.commit.map { " · commit `\($0.prefix(12))`" } ?? ""
    lines += [counts, ""]
    if report.hasErrors { lines += ["❌ Some syncs could not be checked; see the table.", ""] }
    if !report.syncs.isEmpty {
      lines += ["| sync | config | data | notes |", "| --- | --- | --- | --- |"]
      lines += report.syncs.map(tableRow)
      lines.append("")
    }
    for sync in drifted {
      var body: [String] = []
      if !sync.config.changes.isEmpty {
        body += ["```diff"] + sync.config.changes.map { fenced(diffText($0)) } + ["```"]
      }
      if let data = sync.data, case let samples = markdownSamples(data), !samples.isEmpty {
        body += (body.isEmpty ? [] : [""]) + samples
      }
      guard !body.isEmpty else { continue }
      lines += ["<details><summary><code>\(escaped(sync.name))</code></summary>", ""] + body + ["", "</details>", ""]
    }
    if report.repaired { lines += repairLines().map { "> " + escaped($0) + "\n" } }
    if !report.hasDrift, !report.hasErrors { lines.append("No drift.") }
    return MarkdownBudget.truncated(lines.joined(separator: "\n") + "\n", limit: limit) { cut in
      "> ✂️ \(plural(cut, "more line")) cut to stay under \(limit) characters; run `backflow drift` for the full report."
    }
  }

  private func tableRow(_ sync: DriftReport.Sync) -> String {
    let config =
      switch sync.config.status {
      case .inSync: "as applied"
      case .changed: "**changed** (\(plural(sync.config.changes.count, "path")))"
      case .neverApplied: "**never applied**"
      case .orphaned: "**gone from the repository**"
      }
    var data = ""
    var notes: [String] = []
    if let drift = sync.data {
      switch drift.status {
      case let .notChecked(reason):
        data = "not checked"
        notes.append(escaped(reason))
      case let .failed(message):
        data = "❌ error"
        notes.append(escaped(message))
      case .checked:
        let found = findings(drift)
        data = found.isEmpty ? "no drift (\(drift.compared) compared)" : "**" + found.joined(separator: ", ") + "**"
        if drift.pending > 0 { notes.append("\(plural(drift.pending, "pending change")) not compared") }
      }
    }
    if let pending = sync.pending { notes.append(escaped("pending \(pending.action.noun)")) }
    let name = "`\(sync.name)`" + (sync.id.map { " #\($0)" } ?? "")
    return "| \(name) | \(config) | \(data) | \(notes.joined(separator: "; ")) |"
  }

  private func markdownSamples(_ data: DriftData) -> [String] {
    var items: [String] = []
    for record in data.differingSample {
      let fields = record.fields.map { field in
        "`\(escaped(field.name))`: destination has \(code(field.destination)), Backflow wrote \(code(field.written))"
      }
      items.append("- ~ \(code(record.match ?? record.key)): " + fields.joined(separator: "; "))
    }
    for record in data.missingSample { items.append("- − \(code(record.match ?? record.key)): missing") }
    for match in data.extraSample { items.append("- \\+ \(code(match)): should not be there") }
    guard !items.isEmpty else { return [] }
    return ["Sample of \(escaped(data.destination)):", ""] + items
  }

  private func diffText(_ change: ConfigChange) -> String {
    switch (change.before, change.after) {
    case let (nil, after?): "+ \(change.path): \(shown(after))"
    case let (before?, nil): "- \(change.path): \(shown(before))"
    default: "~ \(change.path): \(change.before.map(shown) ?? "null") → \(change.after.map(shown) ?? "null")"
    }
  }

  /// A line inside a code fence: a fence in the value cannot close it.
  private func fenced(_ text: String) -> String {
    text.replacing("```", with: "'''").replacing("\n", with: " ")
  }

  /// A value in a code span, cut short; NULL shown as such.
  private func code(_ value: String?) -> String {
    guard let value else { return "NULL" }
    let text = Self.cut(value, to: Self.valueLength).replacing("`", with: "'").replacing("\n", with: " ").replacing("|", with: "\\|")
    return "`\(text)`"
  }

  private func escaped(_ text: String) -> String {
    text.replacing("|", with: "\\|").replacing("<", with: "&lt;")
  }

  /// `text` cut to `length` characters, marked with `…` when cut.
  static func cut(_ text: String, to length: Int) -> String {
    text.count > length ? String(text.prefix(length - 1)) + "…" : text
  }
}
