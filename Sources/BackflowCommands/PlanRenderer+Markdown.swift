import BackflowConfig
import BackflowPlanner

extension PlanRenderer {
  /// A pull-request comment: the counts first, in a table, then each sync's config diff folded,
  /// all within `limit` bytes (a comment's 65,535 characters unless told otherwise).
  ///
  /// A plan that does not fit loses the folded diffs of its largest syncs first, naming them;
  /// if the table alone is still too long, its last rows are cut with a count. The heading and
  /// the totals always stay.
  func markdown(limit: Int = MarkdownBudget.comment) -> String {
    let document = markdownDocument()
    if let fitted = document.fitted(in: limit) { return fitted }
    return MarkdownBudget.truncated(document.rendered(), limit: limit) { lines in
      "> ✂️ \(plural(lines, "more line")) cut to stay under \(limit) characters; run `backflow plan` for the full plan."
    }
  }

  private func markdownDocument() -> MarkdownPlanDocument {
    let data = plan.syncs.compactMap(\.data)
    var counts =
      "**\(plural(plan.syncs.count, "sync"))** · rows: **\(data.reduce(0) { $0 + $1.add })** to add, "
      + "**\(data.reduce(0) { $0 + $1.change })** to change, **\(data.reduce(0) { $0 + $1.remove })** to remove"
    counts += plan.commit.map { " · commit `\($0.prefix(12))`" } ?? ""
    counts += base.map { " · base \(code($0.ref)) (`\($0.commit.prefix(12))`)" } ?? ""
    var document = MarkdownPlanDocument(head: ["### Backflow plan", "", counts, ""])

    if plan.diagnostics.hasErrors {
      document.groups.append(
        .init(
          intro: ["**\(plural(plan.diagnostics.errorCount, "error"))**: the plan is incomplete.", ""],
          items: plan.diagnostics.sorted.map { "- `\($0.location)`: \(markdownEscaped($0.message))" },
          more: { "- … and \($0) more (see the job log)" }))
    }
    if !plan.syncs.isEmpty {
      let baseColumn = base.map { " since \(code($0.ref)) |" } ?? ""
      document.groups.append(
        .init(
          intro: [
            "| sync | config |\(baseColumn) add | change | remove | queried | notes |",
            "| --- | --- |\(base == nil ? "" : " --- |") ---: | ---: | ---: | ---: | --- |",
          ],
          items: plan.syncs.map(tableRow),
          more: { "\n_… and \(plural($0, "more sync")), left out to fit; run `backflow plan` for every sync._" }))
    }
    if let base, !base.unplannedRemovals.isEmpty {
      document.groups.append(
        .init(
          intro: ["Removed since \(code(base.ref)) and never applied, so there is nothing to retire:", ""],
          items: base.unplannedRemovals.map { "- `\($0)`" }, more: { "- … and \($0) more" }))
    }
    let warnings = plan.syncs.flatMap { sync in
      sync.warnings.map { "> ⚠️ **\(sync.name)**: \(markdownEscaped($0))" }
    }
    if !warnings.isEmpty {
      // One quote per warning: a blank line between them keeps them apart.
      document.groups.append(
        .init(intro: [], items: warnings.map { $0 + "\n" }, more: { "> ⚠️ … and \(plural($0, "more warning"))\n" }))
    }
    document.details = plan.syncs.compactMap(details)
    return document
  }

  private func tableRow(_ sync: SyncPlan) -> String {
    let counts = sync.data.map { ["\($0.add)", "\($0.change)", "\($0.remove)", "\($0.rowsQueried)"] }
      ?? ["", "", "", ""]
    var notes: [String] = []
    if sync.failed { notes.append("❌ could not be planned") }
    if let pending = sync.pending {
      notes.append(markdownEscaped("pending \(pending.action.noun), \(pending.attribution)"))
    }
    if !sync.enabled, sync.configAction != .retire { notes.append("disabled") }
    if !sync.warnings.isEmpty { notes.append("⚠️ \(plural(sync.warnings.count, "warning"))") }
    let action = sync.configAction == .none ? "no change" : "**\(sync.configAction.rawValue)**"
    var cells = ["`\(sync.name)`\(sync.id.map { " #\($0)" } ?? "")", action]
    if let base {
      let entry = base.entry(for: sync.name, current: sync.config)
      let cell =
        switch entry.status {
        case .added: "added"
        case .removed: "removed"
        case .changed: "changed (\(entry.changes.count))"
        case .unchanged: "—"
        }
      cells.append(cell)
    }
    return "| " + (cells + counts + [notes.joined(separator: "; ")]).joined(separator: " | ") + " |"
  }

  /// The sync's folded diffs: against the config last applied, and (with `--base`) against the ref.
  private func details(_ sync: SyncPlan) -> MarkdownPlanDocument.Details? {
    let entry = base.map { $0.entry(for: sync.name, current: sync.config) }
    let baseChanges = entry?.changes ?? []
    guard !sync.configChanges.isEmpty || !baseChanges.isEmpty else { return nil }
    var summary: [String] = []
    if let base {
      if !sync.configChanges.isEmpty { summary.append("\(plural(sync.configChanges.count, "config change")) to apply") }
      if !baseChanges.isEmpty { summary.append("\(plural(baseChanges.count, "change")) since \(htmlCode(base.ref))") }
    } else {
      summary.append(plural(sync.configChanges.count, "config change"))
    }
    var lines = ["<details><summary><code>\(sync.name)</code>: \(summary.joined(separator: " · "))</summary>", ""]
    if base != nil, !sync.configChanges.isEmpty { lines += ["Against the config last applied:", ""] }
    lines += diffBlock(sync.configChanges)
    if let base, !baseChanges.isEmpty {
      lines += ["Since \(code(base.ref)) (`\(base.commit.prefix(12))`):", ""]
      lines += baseChanges == sync.configChanges ? ["The same changes.", ""] : diffBlock(baseChanges)
    }
    lines += ["</details>", ""]
    return .init(name: sync.name, lines: lines)
  }

  private func diffBlock(_ changes: [ConfigChange]) -> [String] {
    guard !changes.isEmpty else { return [] }
    var diff: [String] = []
    for change in changes {
      if let before = change.before { diff += prefixed("- \(change.path): ", display(before)) }
      if let after = change.after { diff += prefixed("+ \(change.path): ", display(after)) }
    }
    let fence = MarkdownBudget.fence(for: diff.joined(separator: "\n"))
    return [fence + "diff"] + diff + [fence, ""]
  }

  /// `text` as inline code, whatever backticks it holds.
  private func code(_ text: String) -> String {
    let fence = text.contains("`") ? "``" : "`"
    return "\(fence)\(text.replacing("|", with: "\\|"))\(fence)"
  }

  private func htmlCode(_ text: String) -> String {
    "<code>" + text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;") + "</code>"
  }
}

/// A Markdown plan in parts that can be left out to fit a size limit: the head always stays,
/// groups of lines can be cut short, and folded details can be dropped, largest first.
struct MarkdownPlanDocument {
  /// Lines that can be cut after any item, with a line saying how many were.
  struct Group {
    var intro: [String]
    var items: [String]
    var more: (Int) -> String
  }

  /// One sync's folded diff.
  struct Details {
    var name: String
    var lines: [String]
    var size: Int { lines.reduce(0) { $0 + $1.utf8.count + 1 } }
  }

  var head: [String]
  var groups: [Group] = []
  var details: [Details] = []

  /// Everything, with nothing left out.
  func rendered() -> String {
    render(cut: groups.map { _ in 0 }, keeping: details, omitted: [])
  }

  /// The whole document if it fits in `limit`; else without the largest details, naming them;
  /// else with groups cut short too; `nil` if even the head does not fit.
  func fitted(in limit: Int) -> String? {
    let full = rendered()
    if MarkdownBudget.size(full) <= limit { return full }
    // Drop the largest details until the rest fits, sizes summed rather than re-rendered so a
    // plan of thousands of syncs stays fast; the result is measured again below.
    let withoutDetails = MarkdownBudget.size(render(cut: groups.map { _ in 0 }, keeping: [], omitted: details))
    var room = limit - withoutDetails
    var keep = Set<Int>()
    for (index, block) in details.enumerated().sorted(by: { $0.element.size < $1.element.size }) where block.size <= room {
      keep.insert(index)
      room -= block.size
    }
    if withoutDetails <= limit {
      // The note names other syncs than when every diff is left out, so measure, and drop the
      // next largest while it does not fit.
      while true {
        let kept = details.indices.filter(keep.contains).map { details[$0] }
        let omitted = details.indices.filter { !keep.contains($0) }.map { details[$0] }
        let text = render(cut: groups.map { _ in 0 }, keeping: kept, omitted: omitted)
        if MarkdownBudget.size(text) <= limit { return text }
        guard let largest = keep.max(by: { details[$0].size < details[$1].size }) else { break }
        keep.remove(largest)
      }
    }
    // The tables and lists alone are too long: cut each group's items at what still fits.
    var cuts = groups.map { _ in 0 }
    let skeleton = MarkdownBudget.size(
      render(cut: groups.map(\.items.count), keeping: [], omitted: details))
    var left = limit - skeleton
    guard left >= 0 else { return nil }
    for (index, group) in groups.enumerated() {
      var taken = 0
      for item in group.items {
        let cost = item.utf8.count + 1
        guard cost <= left else { break }
        left -= cost
        taken += 1
      }
      cuts[index] = group.items.count - taken
    }
    let text = render(cut: cuts, keeping: [], omitted: details)
    return MarkdownBudget.size(text) <= limit ? text : nil
  }

  /// The document with the last `cut[i]` items of group `i` left out, `keeping` the details
  /// given and a note naming the `omitted` ones.
  private func render(cut: [Int], keeping kept: [Details], omitted: [Details]) -> String {
    var lines = head
    for (group, count) in zip(groups, cut) {
      lines += group.intro
      lines += group.items.dropLast(count)
      if count > 0 { lines.append(group.more(count)) }
      lines.append("")
    }
    if !omitted.isEmpty {
      let names = omitted.prefix(20).map { "`\($0.name)`" }.joined(separator: ", ")
      let rest = omitted.count > 20 ? " and \(omitted.count - 20) more" : ""
      lines += [
        "> ✂️ Config diffs left out to fit: \(names)\(rest). Run `backflow plan` (or see the job log) for them.",
        "",
      ]
    }
    for block in kept { lines += block.lines }
    return lines.joined(separator: "\n")
  }
}
