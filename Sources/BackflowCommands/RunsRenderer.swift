import ArgumentParser
import BackflowConfig
import BackflowState
import Foundation

/// How `runs` and `errors` print: aligned text for people, or JSON for tools (docs/runs.md).
public enum HistoryFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
  case text
  case json
}

/// Turns run records into what `backflow runs` and `backflow runs show` print.
struct RunsRenderer {
  /// Changes only when a field is removed or changes meaning; new fields may appear.
  static let formatVersion = 1

  let terminal: Terminal
  /// Sync names by sync ID.
  let syncNames: [Int: String]

  func name(of run: RunRecord) -> String {
    syncNames[run.syncID] ?? "sync \(run.syncID)"
  }

  // MARK: List

  /// The runs newest first; `truncated` says that older runs exist beyond `runs`.
  func list(_ runs: [RunRecord], truncated: Bool, sync: String?, as format: HistoryFormat) -> String {
    switch format {
    case .json:
      return JSONValue.object([
        ("format_version", .int(Self.formatVersion)),
        ("sync", sync.map(JSONValue.string) ?? .null),
        ("truncated", .bool(truncated)),
        ("runs", .array(runs.map(json))),
      ]).rendered() + "\n"
    case .text:
      guard !runs.isEmpty else {
        return sync.map { "No runs of \($0) yet: `backflow apply` records one each time it sends the sync's rows.\n" }
          ?? "No runs yet: `backflow apply` records one for each sync it runs.\n"
      }
      var table = TextTable([
        ("RUN", .right), ("SYNC", .left), ("STATUS", .left), ("STARTED", .left), ("DURATION", .right),
        ("QUERIED", .right), ("ADDED", .right), ("CHANGED", .right), ("REMOVED", .right), ("SUCCEEDED", .right),
        ("REJECTED", .right), ("ABORTED", .right),
      ])
      for run in runs {
        table.append([
          TextTable.Cell(String(run.id)), TextTable.Cell(name(of: run)), Self.status(run),
          TextTable.Cell(run.startedAt), TextTable.Cell(duration(run) ?? "-"), TextTable.Cell(String(run.rowsQueried)),
          TextTable.Cell(String(run.planned.add)), TextTable.Cell(String(run.planned.change)),
          TextTable.Cell(String(run.planned.remove)), count(run.succeeded.total, .green),
          count(run.failed.total, .red), count(run.aborted.total, .yellow),
        ])
      }
      var lines = table.lines(terminal, indent: "")
      let withErrors = runs.filter { $0.error != nil }
      if !withErrors.isEmpty { lines.append("") }
      for run in withErrors {
        lines.append(terminal.paint("run \(run.id):", .red) + " " + Self.firstLine(of: run.error ?? "", limit: 100))
      }
      if truncated {
        lines += ["", "Showing the \(runs.count) newest runs; --limit N shows more (--limit 0 shows every run)."]
      }
      return lines.joined(separator: "\n") + "\n"
    }
  }

  // MARK: Show

  /// One run in full: times, counts per operation, its error, and a sample of its failed rows.
  func show(_ run: RunRecord, sample: [FailedRow], failedRows: Int, as format: HistoryFormat) -> String {
    if format == .json {
      return JSONValue.object([
        ("format_version", .int(Self.formatVersion)),
        ("run", json(run)),
        (
          "failed_rows",
          .object([
            ("total", .int(failedRows)),
            ("sample", .array(sample.map(\.json))),
          ])
        ),
      ]).rendered() + "\n"
    }
    let name = name(of: run)
    var lines = [
      terminal.paint("Run \(run.id)", .bold) + " of " + terminal.paint(name, .bold) + " (sync ID \(run.syncID)): "
        + Self.status(run).painted(terminal)
    ]
    let finished = run.finishedAt.map { at in duration(run).map { "\(at) (took \($0))" } ?? at }
    let facts: [(String, String)] = [
      ("started", run.startedAt),
      ("finished", finished ?? "not finished: still running, or stopped before it could record its end"),
      ("commit", run.gitCommit ?? "none (the project was not in a git repository)"),
      ("queried", plural(run.rowsQueried, "row")),
    ]
    let width = facts.map(\.0.count).max() ?? 0
    lines += facts.map { "  " + $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
    lines.append("")

    var table = TextTable([
      ("", .left), ("PLANNED", .right), ("ATTEMPTED", .right), ("SUCCEEDED", .right), ("FAILED", .right),
      ("ABORTED", .right),
    ])
    let operations: [(String, KeyPath<OperationCounts, Int>)] = [
      ("add", \.add), ("change", \.change), ("remove", \.remove), ("total", \.total),
    ]
    for (operation, path) in operations {
      table.append([
        TextTable.Cell(operation), TextTable.Cell(String(run.planned[keyPath: path])),
        TextTable.Cell(String(run.attempted[keyPath: path])), count(run.succeeded[keyPath: path], .green),
        count(run.failed[keyPath: path], .red), count(run.aborted[keyPath: path], .yellow),
      ])
    }
    lines += table.lines(terminal)

    if let error = run.error {
      lines += ["", terminal.paint("Error:", .red)]
      lines += error.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
    }
    if failedRows > 0 {
      let shown = sample.count < failedRows ? " (the first \(sample.count) of \(failedRows); --rows N shows more)" : ""
      lines += ["", terminal.paint("Failed rows", .bold) + "\(shown):"]
      var rows = TextTable([("OPERATION", .left), ("KEY", .left), ("REASON", .left)])
      for row in sample {
        rows.append([
          TextTable.Cell(row.operation), TextTable.Cell(row.key ?? "NULL"),
          TextTable.Cell(Self.firstLine(of: row.reason, limit: nil)),
        ])
      }
      if !sample.isEmpty { lines += rows.lines(terminal) }
      lines += [
        "", "Grouped by reason: `backflow errors \(name) --run \(run.id)`. Failed rows are retried by the next run.",
      ]
    }
    return lines.joined(separator: "\n") + "\n"
  }

  // MARK: Pieces

  /// The documented JSON object of one run (docs/runs.md).
  func json(_ run: RunRecord) -> JSONValue {
    run.json(sync: name(of: run))
  }

  static func status(_ run: RunRecord) -> TextTable.Cell {
    let style: Terminal.Style? =
      switch run.status {
      case .succeeded: .green
      case .failed: .red
      case .aborted: .yellow
      case .running: nil
      }
    return TextTable.Cell(run.status.rawValue, style)
  }

  /// A count, coloured only when it is not zero, so the eye goes to what happened.
  func count(_ value: Int, _ style: Terminal.Style) -> TextTable.Cell {
    TextTable.Cell(String(value), value > 0 ? style : nil)
  }

  /// `<1s`, `42s`, `3m05s`, `2h04m`; `nil` for a run that has not finished.
  func duration(_ run: RunRecord) -> String? {
    run.durationText
  }

  /// The first line of `text`, cut at `limit` characters, with `…` where something was left out.
  static func firstLine(of text: String, limit: Int?) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
    var line = String(lines.first ?? "")
    var cut = lines.count > 1
    if let limit, line.count > limit {
      line = String(line.prefix(limit))
      while line.last == " " { line.removeLast() }
      cut = true
    }
    return cut ? line + " …" : line
  }
}

extension TextTable.Cell {
  func painted(_ terminal: Terminal) -> String {
    style.map { terminal.paint(text, $0) } ?? text
  }
}
