import BackflowConfig
import BackflowPlanner

/// How `plan` prints: for a terminal, for tools, or for a pull-request comment.
public enum PlanFormat: String, CaseIterable, Sendable {
  case text
  case json
  case markdown
}

/// Turns a plan into text, JSON or Markdown.
struct PlanRenderer {
  let plan: BackflowPlanner.Plan
  let terminal: Terminal
  /// How the state store is named in the output, its password removed.
  let stateDescription: String
  /// The config at the git ref of `plan --base`, compared with the working tree's per sync.
  var base: ConfigBase? = nil

  func render(as format: PlanFormat) -> String {
    switch format {
    case .text: text()
    case .json: json().rendered() + "\n"
    case .markdown: markdown()
    }
  }

  /// The documented JSON plan; with `--base`, each sync gains a `base` member and the plan a
  /// top-level `base` (ref, commit, and the syncs removed since the ref that state never knew).
  func json() -> JSONValue {
    let json = plan.json(backflowVersion: BackflowVersion.current)
    guard let base, case var .object(members) = json else { return json }
    for index in members.indices where members[index].0 == "syncs" {
      guard case let .array(syncs) = members[index].1 else { continue }
      members[index].1 = .array(
        zip(syncs, plan.syncs).map { json, sync in
          guard case var .object(fields) = json else { return json }
          fields.append(("base", base.json(base.entry(for: sync.name, current: sync.config))))
          return .object(fields)
        })
    }
    let summary: JSONValue = .object([
      ("ref", .string(base.ref)), ("commit", .string(base.commit)),
      ("removed", .array(base.unplannedRemovals.map(JSONValue.string))),
    ])
    if let errors = members.firstIndex(where: { $0.0 == "errors" }) {
      members.insert(("base", summary), at: errors)
    } else {
      members.append(("base", summary))
    }
    return .object(members)
  }

  // MARK: Text

  /// Terraform's shape: a block per sync with its config diff and row counts, then a total.
  func text() -> String {
    var output = DiagnosticRenderer(terminal: terminal).text(plan.diagnostics.sorted)
    if !output.isEmpty { output += "\n" }
    output += terminal.paint("Backflow plan", .bold) + " · state \(stateDescription)"
    output += plan.commit.map { " · commit \($0.prefix(12))" } ?? ""
    output += base.map { " · base \($0.ref) (\($0.commit.prefix(12)))" } ?? ""
    output += "\n\n"
    if plan.syncs.isEmpty { output += "No syncs selected.\n" }
    for sync in plan.syncs {
      output += block(for: sync) + "\n"
    }
    for name in base?.unplannedRemovals ?? [] {
      output += terminal.paint("- \(name)", .red) + " removed since \(base?.ref ?? "")"
        + terminal.paint(" (never applied, so there is nothing to retire)", .dim) + "\n\n"
    }
    return output + summary() + "\n"
  }

  private func block(for sync: SyncPlan) -> String {
    let (symbol, style): (String, Terminal.Style) =
      switch sync.configAction {
      case .create: ("+", .green)
      case .update: ("~", .yellow)
      case .retire: ("-", .red)
      case .none: (" ", .bold)
      }
    var heading = terminal.paint("\(symbol) \(sync.name)", style)
    if let id = sync.id { heading += terminal.paint(" #\(id)", .dim) }
    let action =
      switch sync.configAction {
      case .create: " will be created"
      case .update: " config will be updated"
      case .none: sync.failed ? " could not be planned (see the errors above)" : ""
      case .retire: " will be retired: it is gone from the repository; its destination data is left as it is"
      }
    var lines = [heading + action]
    if let model = sync.model, let destination = sync.destination {
      lines.append(terminal.paint("    model \(model) → \(destination)", .dim))
    }
    if let dbt = sync.dbt { lines.append(terminal.paint("    \(dbt)", .dim)) }
    if let pending = sync.pending {
      lines.append(
        "    " + terminal.paint("pending:", .yellow) + " \(pending.action.noun), \(pending.attribution) "
          + "(`\(pending.action.command(sync.name)) --cancel` withdraws it)")
    }
    for change in sync.configChanges { lines += diffLines(change).map { "    " + $0 } }
    if let base { lines += baseLines(for: sync, base: base) }
    if !sync.enabled, sync.configAction != .retire {
      lines.append("    disabled (enabled: false): apply skips its rows")
    }
    if let data = sync.data {
      lines.append("    " + counts(data) + terminal.paint(" (\(details(data)))", .dim))
      for operation in DataPlan.Operation.allCases {
        let keys = data.sampleKeys[operation, default: []]
        guard !keys.isEmpty else { continue }
        let marker = switch operation {
        case .add: terminal.paint("+", .green)
        case .change: terminal.paint("~", .yellow)
        case .remove: terminal.paint("-", .red)
        }
        let more = data.count(operation) - keys.count
        lines.append("      \(marker) " + keys.joined(separator: ", ") + (more > 0 ? " … and \(more) more" : ""))
      }
      if !data.rejectedKeys.isEmpty {
        lines.append("      \(terminal.paint("!", .red)) rejected: " + data.rejectedKeys.joined(separator: ", "))
      }
    }
    for warning in sync.warnings {
      lines.append("    " + terminal.paint("warning:", .yellow) + " " + warning)
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// How the sync's config differs from the `--base` ref: a status line, then the changed paths.
  private func baseLines(for sync: SyncPlan, base: ConfigBase) -> [String] {
    let entry = base.entry(for: sync.name, current: sync.config)
    let since = "since \(base.ref)"
    switch entry.status {
    case .added: return ["    " + terminal.paint("added \(since)", .green)]
    case .removed: return ["    " + terminal.paint("removed \(since)", .red)]
    case .unchanged: return ["    " + terminal.paint("no config change \(since)", .dim)]
    case .changed where entry.changes == sync.configChanges:
      return ["    changed \(since): the same \(entry.changes.count == 1 ? "change" : "changes") as above"]
    case .changed:
      return ["    changed \(since): \(plural(entry.changes.count, "config change"))"]
        + entry.changes.flatMap(diffLines).map { "      " + $0 }
    }
  }

  private func counts(_ data: DataPlan) -> String {
    [
      terminal.paint("+ \(data.add) to add", .green), terminal.paint("~ \(data.change) to change", .yellow),
      terminal.paint("- \(data.remove) to remove", .red),
    ].joined(separator: ", ")
  }

  private func details(_ data: DataPlan) -> String {
    var parts = ["\(data.rowsQueried) rows queried", "\(data.unchanged) unchanged"]
    if data.recorded > 0 { parts.append("\(data.recorded) recorded without sending") }
    if data.ignoredRemovals > 0 { parts.append("\(data.ignoredRemovals) removals ignored") }
    if data.duplicateKeys + data.nullKeys > 0 { parts.append("\(data.duplicateKeys + data.nullKeys) rejected") }
    return parts.joined(separator: ", ")
  }

  /// `~ path: before → after`, with text of several lines shown line by line.
  private func diffLines(_ change: ConfigChange) -> [String] {
    let before = change.before.map(display)
    let after = change.after.map(display)
    if (before ?? "").contains("\n") || (after ?? "").contains("\n") {
      var lines = [terminal.paint("~ \(change.path):", .yellow)]
      lines += (before ?? "").split(separator: "\n", omittingEmptySubsequences: false).map {
        terminal.paint("-   \($0)", .red)
      }
      lines += (after ?? "").split(separator: "\n", omittingEmptySubsequences: false).map {
        terminal.paint("+   \($0)", .green)
      }
      return lines
    }
    switch (before, after) {
    case let (nil, after?): return [terminal.paint("+ \(change.path): \(after)", .green)]
    case let (before?, nil): return [terminal.paint("- \(change.path): \(before)", .red)]
    default: return [terminal.paint("~ \(change.path):", .yellow) + " \(before ?? "null") → \(after ?? "null")"]
    }
  }

  func display(_ value: JSONValue) -> String {
    if case let .string(text) = value, text.contains("\n") { return text }
    return value.rendered(compact: true)
  }

  private func summary() -> String {
    let actions = SyncPlan.ConfigAction.allCases.compactMap { action -> String? in
      let count = plan.syncs.count { $0.configAction == action }
      guard count > 0 else { return nil }
      return switch action {
      case .create: "\(count) to create"
      case .update: "\(count) to update"
      case .retire: "\(count) to retire"
      case .none: "\(count) unchanged"
      }
    }
    let data = plan.syncs.compactMap(\.data)
    let rows = [
      "\(data.reduce(0) { $0 + $1.add }) to add", "\(data.reduce(0) { $0 + $1.change }) to change",
      "\(data.reduce(0) { $0 + $1.remove }) to remove",
    ]
    var line = terminal.paint("Plan:", .bold) + " syncs: " + (actions.isEmpty ? "none" : actions.joined(separator: ", "))
    line += "; rows: " + rows.joined(separator: ", ") + "."
    if plan.diagnostics.hasErrors {
      line += "\n" + terminal.paint("\(plural(plan.diagnostics.errorCount, "error")): the plan is incomplete.", .red)
    } else if !plan.hasChanges {
      line += "\nNo changes: the destinations match the models."
    }
    return line
  }

  // MARK: Markdown (PlanRenderer+Markdown.swift)

  /// `text` after `head` (`- path: `), its further lines prefixed with the same sign, for a diff.
  func prefixed(_ head: String, _ text: String) -> [String] {
    let sign = String(head.prefix(1))
    let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
    return [head + (parts.first ?? "")] + parts.dropFirst().map { "\(sign)   \($0)" }
  }

  func markdownEscaped(_ text: String) -> String {
    text.replacing("|", with: "\\|").replacing("<", with: "&lt;")
  }
}
