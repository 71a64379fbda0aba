import Foundation
import BackflowConfig

/// The closing lines of `validate`: the verdict, and on success a table of the project's syncs.
struct ProjectSummary {
  let project: Project
  let diagnostics: Diagnostics
  let terminal: Terminal

  var text: String {
    guard !diagnostics.hasErrors else {
      let counts = [plural(diagnostics.errorCount, "error"), plural(diagnostics.warningCount, "warning")]
      return terminal.paint("\(counts.filter { !$0.hasPrefix("0 ") }.joined(separator: ", ")); the project is not valid", .red) + "\n"
    }
    var lines = [
      terminal.paint("Success! ", .green)
        + "The project is valid: \(plural(project.syncs.count, "sync")), \(plural(project.models.count, "shared model")), "
        + "\(plural(project.sources.count, "source")), \(plural(project.destinations.count, "destination"))."
    ]
    if !project.syncs.isEmpty {
      let rows = [["SYNC", "TYPE", "MODE", "MODEL", "DESTINATION", "SCHEDULE"]] + project.syncs.map(row)
      let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
      lines.append("")
      for (index, row) in rows.enumerated() {
        let padded = zip(row, widths).map { cell, width in cell.padding(toLength: width, withPad: " ", startingAt: 0) }
        let line = "  " + padded.joined(separator: "  ").trimmingTrailingSpaces()
        lines.append(index == 0 ? terminal.paint(line, .dim) : line)
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private func row(_ sync: Sync) -> [String] {
    let model = sync.inlineModel == nil ? sync.model.value : "(inline)"
    let state = sync.enabled.value ? describe(sync.schedule.value) : "disabled"
    return [
      sync.name.value, sync.type.value.rawValue, sync.mode.value.rawValue, model,
      "\(sync.destination.value).\(sync.object.value)", state,
    ]
  }

  private func describe(_ schedule: Schedule) -> String {
    switch schedule {
    case let .every(interval): "every \(interval)"
    case let .cron(expression, timeZone): "cron \(expression) \(timeZone)"
    case let .weekly(days, times, timeZone):
      "weekly \(days.map { String("\($0)".prefix(3)) }.joined(separator: ",")) at \(times.map(\.description).joined(separator: ",")) \(timeZone)"
    case let .after(syncs, _): "after \(syncs.map(\.value).joined(separator: ", "))"
    case .manual: "manual"
    }
  }
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var text = self
    while text.last == " " { text.removeLast() }
    return text
  }
}
