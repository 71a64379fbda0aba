import BackflowConfig
import BackflowState

/// Turns an error report into what `backflow errors` prints.
struct ErrorsRenderer {
  /// Changes only when a field is removed or changes meaning; new fields may appear.
  static let formatVersion = 1

  let report: ErrorReport
  let terminal: Terminal
  /// The run `--run` named; `nil` when the latest finished run of each sync was read.
  let chosenRun: Int?
  /// The sync named on the command line, if any.
  let sync: String?

  func render(as format: HistoryFormat) -> String {
    switch format {
    case .text: text()
    case .json: json().rendered() + "\n"
    }
  }

  // MARK: Text

  func text() -> String {
    guard !report.runs.isEmpty else {
      let whose = sync.map { " of \($0)" } ?? ""
      return "No finished runs\(whose) yet, so no failed rows: `backflow apply` records a run for each sync it runs.\n"
    }
    var lines = heading()
    lines.append("")
    let width = report.categories.flatMap(\.reasons).map { String($0.count).count }.max() ?? 1
    for category in report.categories {
      lines += block(category, width: width)
    }
    if report.categories.count == 1 {
      lines += ["", terminal.paint("No error_categories in backflow.yaml: every reason is uncategorised.", .dim)]
    }
    lines.append("")
    let reasons = report.categories.reduce(0) { $0 + $1.reasons.count }
    if report.failedRows == 0 {
      lines.append("No failed rows.")
    } else {
      lines.append(
        "\(plural(report.failedRows, "failed row")) for \(plural(reasons, "reason")); "
          + "the next run of each sync retries them. `backflow runs show RUN` shows a run in full.")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private func heading() -> [String] {
    var lines: [String] = []
    if let chosenRun, let run = report.runs.first(where: { $0.record.id == chosenRun }) {
      lines.append(
        terminal.paint("Failed rows of run \(chosenRun)", .bold) + " (\(run.sync), \(describe(run))): \(run.failedRows)")
    } else {
      lines.append(terminal.paint("Failed rows in the latest finished run of each sync", .bold) + ":")
      var table = TextTable([
        ("SYNC", .left), ("RUN", .right), ("STATUS", .left), ("FINISHED", .left), ("FAILED ROWS", .right),
      ])
      for run in report.runs {
        let status = RunsRenderer.status(run.record)
        table.append([
          TextTable.Cell(run.sync), TextTable.Cell(String(run.record.id)), status,
          TextTable.Cell(run.record.finishedAt ?? "-"),
          TextTable.Cell(String(run.failedRows), run.failedRows > 0 ? .red : nil),
        ])
      }
      lines += table.lines(terminal)
    }
    for run in report.runs {
      if let skipped = run.passedOver {
        var line = "  \(run.sync): newer run \(skipped.id) sent no rows, so run \(run.record.id) holds the rows failing now"
        if let error = skipped.error { line += "; run \(skipped.id) " + self.error(error) }
        lines.append(line)
      }
      if let error = run.record.error { lines.append("  \(run.sync): run \(run.record.id) " + self.error(error)) }
    }
    return lines
  }

  /// `error: ` and the first line of a sync-level error; `runs show` prints it in full.
  private func error(_ text: String) -> String {
    terminal.paint("error:", .red) + " " + RunsRenderer.firstLine(of: text, limit: 120)
  }

  private func describe(_ run: ErrorReport.Run) -> String {
    let status = run.record.status.rawValue
    return run.record.finishedAt.map { "\(status), finished \($0)" } ?? "\(status), not finished"
  }

  private func block(_ category: ErrorReport.Category, width: Int) -> [String] {
    let isUncategorised = category.pattern == nil
    let nameStyle: Terminal.Style = isUncategorised && category.count > 0 ? .yellow : .bold
    var head = terminal.paint(category.name, nameStyle) + ": " + plural(category.count, "row")
    if let pattern = category.pattern { head += terminal.paint("  /\(pattern)/", .dim) }
    var lines = [head]
    let indent = "  " + String(repeating: " ", count: width) + "  "
    for reason in category.reasons {
      let count = String(reason.count)
      let padded = String(repeating: " ", count: width - count.count) + terminal.paint(count, .red)
      let reasonLines = reason.text.split(separator: "\n", omittingEmptySubsequences: false)
      lines.append("  \(padded)  \(reasonLines.first ?? "")")
      lines += reasonLines.dropFirst().map { indent + $0 }
      for share in reason.syncs {
        let keys = share.sample.map { $0.key ?? "NULL" }
        let more = share.count - keys.count
        var text = keys.joined(separator: ", ")
        if more > 0 { text += keys.isEmpty ? plural(more, "row") : " … and \(more) more" }
        lines.append(indent + terminal.paint("\(share.sync) run \(share.runID):", .dim) + " " + text)
      }
    }
    return lines
  }

  // MARK: JSON

  /// The documented JSON form (docs/runs.md).
  func json() -> JSONValue {
    .object([
      ("format_version", .int(Self.formatVersion)),
      ("sync", sync.map(JSONValue.string) ?? .null),
      ("run", chosenRun.map(JSONValue.int) ?? .null),
      (
        "runs",
        .array(
          report.runs.map { run in
            .object([
              ("id", .int(run.record.id)), ("sync", .string(run.sync)), ("sync_id", .int(run.record.syncID)),
              ("status", .string(run.record.status.rawValue)),
              ("finished_at", run.record.finishedAt.map(JSONValue.string) ?? .null),
              ("error", run.record.error.map(JSONValue.string) ?? .null), ("failed_rows", .int(run.failedRows)),
              (
                "passed_over",
                run.passedOver.map { skipped in
                  .object([
                    ("id", .int(skipped.id)), ("status", .string(skipped.status.rawValue)),
                    ("finished_at", skipped.finishedAt.map(JSONValue.string) ?? .null),
                    ("error", skipped.error.map(JSONValue.string) ?? .null),
                  ])
                } ?? .null
              ),
            ])
          })
      ),
      ("failed_rows", .int(report.failedRows)),
      ("categories", .array(report.categories.map(json))),
    ])
  }

  private func json(_ category: ErrorReport.Category) -> JSONValue {
    .object([
      ("name", .string(category.name)),
      ("pattern", category.pattern.map(JSONValue.string) ?? .null),
      ("failed_rows", .int(category.count)),
      (
        "reasons",
        .array(
          category.reasons.map { reason in
            .object([
              ("reason", .string(reason.text)),
              ("failed_rows", .int(reason.count)),
              (
                "syncs",
                .array(
                  reason.syncs.map { share in
                    .object([
                      ("sync", .string(share.sync)), ("run_id", .int(share.runID)), ("failed_rows", .int(share.count)),
                      (
                        "sample",
                        .array(
                          share.sample.map { row in
                            .object([
                              ("operation", .string(row.operation)), ("key", row.key.map(JSONValue.string) ?? .null),
                            ])
                          })
                      ),
                    ])
                  })
              ),
            ])
          })
      ),
    ])
  }
}
