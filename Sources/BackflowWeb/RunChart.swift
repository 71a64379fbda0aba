import BackflowState

/// A sync's run history as an inline SVG bar chart: one stacked bar per run, oldest on the left,
/// of the rows it added, changed and removed (succeeded) and the rows that failed. Each bar links
/// to its run and says its figures in a `<title>` tooltip; no script, no external file.
enum RunChart {
  static let series: [(name: String, color: String, count: @Sendable (RunRecord) -> Int)] = [
    ("added", "#2da44e", { $0.succeeded.add }),
    ("changed", "#0969da", { $0.succeeded.change }),
    ("removed", "#8250df", { $0.succeeded.remove }),
    ("failed", "#cf222e", { $0.failed.total }),
  ]

  /// `runs` oldest first.
  static func svg(_ runs: [RunRecord], width: Int = 900, height: Int = 220) -> String {
    let left = 56
    let bottom = 24
    let top = 10
    let plotHeight = height - bottom - top
    let plotWidth = width - left - 8
    let highest = max(runs.map { run in series.reduce(0) { $0 + $1.count(run) } }.max() ?? 0, 1)
    let slot = runs.isEmpty ? plotWidth : max(plotWidth / runs.count, 1)
    let barWidth = min(max(Int(Double(slot) * 0.7), 1), 28)
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" class="chart" width="\(width)" height="\(height)" \
      viewBox="0 0 \(width) \(height)" role="img" aria-label="rows added, changed, removed and failed per run">
      <line x1="\(left)" y1="\(top + plotHeight)" x2="\(width - 8)" y2="\(top + plotHeight)" stroke="#8c959f"/>
      <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + plotHeight)" stroke="#8c959f"/>
      <text x="\(left - 6)" y="\(top + 10)" text-anchor="end" font-size="11" fill="#656d76">\(highest)</text>
      <text x="\(left - 6)" y="\(top + plotHeight)" text-anchor="end" font-size="11" fill="#656d76">0</text>

      """
    if runs.isEmpty {
      svg += "<text x=\"\(left + 12)\" y=\"\(top + plotHeight / 2)\" font-size=\"13\" fill=\"#656d76\">no runs yet</text>\n"
    }
    for (index, run) in runs.enumerated() {
      let x = left + index * slot + (slot - barWidth) / 2
      var y = top + plotHeight
      let figures = series.map { "\($0.count(run)) \($0.name)" }.joined(separator: ", ")
      svg += "<a href=\"/runs/\(run.id)\"><title>run \(run.id) (\(HTML.escape(run.status.rawValue))): \(figures)</title>"
      // An empty run still gets a sliver, so every run can be pointed at.
      svg += "<rect x=\"\(x)\" y=\"\(top)\" width=\"\(barWidth)\" height=\"\(plotHeight)\" fill=\"transparent\"/>"
      for entry in series {
        let count = entry.count(run)
        guard count > 0 else { continue }
        let barHeight = max(Int((Double(count) / Double(highest) * Double(plotHeight)).rounded()), 1)
        y -= barHeight
        svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(barWidth)\" height=\"\(barHeight)\" fill=\"\(entry.color)\"/>"
      }
      svg += "</a>\n"
      if runs.count <= 25 || index % max(runs.count / 10, 1) == 0 {
        svg += "<text x=\"\(x + barWidth / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\" font-size=\"10\" "
          + "fill=\"#656d76\">\(run.id)</text>\n"
      }
    }
    svg += "</svg>\n"
    return svg
  }

  static var legend: String {
    "<p class=\"legend\">"
      + series.map { "<span><i style=\"background:\($0.color)\"></i>\($0.name)</span>" }.joined()
      + "<span class=\"muted\">per run, oldest on the left; run IDs below; each bar links to its run</span></p>\n"
  }
}
