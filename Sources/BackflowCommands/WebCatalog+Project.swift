import BackflowConfig
import BackflowState
import BackflowWeb
import Foundation

extension WebCatalog {
  /// The project's syncs for the web UI, with `schedule`'s words for when each runs next and
  /// `errors`' grouping of failed rows, so the pages and the commands never disagree.
  init(project: Project, title: String) {
    let syncs = project.syncs
    let categories = project.errorCategories
    self.init(
      title: title,
      syncs: syncs.map { sync in
        WebCatalog.Sync(
          name: sync.name.value, model: sync.model.value, destination: sync.destination.value,
          object: sync.object.value, mode: sync.mode.value.rawValue,
          schedule: ScheduleEntry(sync: sync, id: nil, lastRun: nil, now: Date()).words)
      },
      nextRun: { name, lastRun in
        guard let sync = syncs.first(where: { $0.name.value == name }) else { return ("-", nil) }
        let entry = ScheduleEntry(sync: sync, id: nil, lastRun: lastRun, now: Date())
        return (entry.nextInWords, entry.enabled ? entry.due.date.map { $0.formatted(.iso8601) } : nil)
      },
      errors: { state, names in
        let records = try state.syncs().filter { $0.retiredAt == nil }
        let (read, passedOver) = try ErrorReport.latestRuns(of: records, in: state)
        let groups = try state.failureGroups(runIDs: read.map(\.id), sampleSize: 5)
        let report = try ErrorReport(
          runs: read, passedOver: passedOver, groups: groups, syncNames: names, categories: categories)
        let json = ErrorsRenderer(report: report, terminal: Terminal(colors: false), chosenRun: nil, sync: nil).json()
        return ErrorsView(
          runs: report.runs.map { ($0.sync, $0.record, $0.failedRows) },
          categories: report.categories.map { category in
            ErrorsView.Category(
              name: category.name, pattern: category.pattern, count: category.count,
              reasons: category.reasons.map { reason in
                ErrorsView.Reason(
                  text: reason.text, count: reason.count,
                  shares: reason.syncs.map {
                    ErrorsView.Share(sync: $0.sync, runID: $0.runID, count: $0.count, sample: $0.sample)
                  })
              })
          },
          json: json)
      })
  }
}
