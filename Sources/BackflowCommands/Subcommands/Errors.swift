import ArgumentParser
import BackflowConfig
import BackflowState

extension Backflow {
  /// `backflow errors`: the rows failing now, grouped by reason and by `error_categories`.
  public struct Errors: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Show failed rows grouped by reason, under the categories of error_categories.",
      discussion: """
        Reads the latest finished run of each sync (or of SYNC): its failed rows are the ones the \
        next run retries. --run reads one run instead. Changes nothing; exits 0 unless the sync or \
        run does not exist. Formats: docs/runs.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("Only this sync's failed rows.", valueName: "sync"))
    var sync: String?

    @Option(help: ArgumentHelp("Read this run instead of the latest finished run of each sync.", valueName: "run"))
    var run: Int?

    @Option(help: "text or json (documented in docs/runs.md).")
    var format: HistoryFormat = .text

    @Option(help: ArgumentHelp("List up to N keys per reason and sync.", valueName: "n"))
    var keys = 5

    public init() {}

    public func validate() throws {
      guard keys >= 0 else { throw ValidationError("--keys must be 0 or more") }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      let names = try session.syncNames()
      let (runs, passedOver) = try self.runs(session, names: names)
      let groups = try session.readingState {
        try session.state.failureGroups(runIDs: runs.map(\.id), sampleSize: keys)
      }
      let report = try ErrorReport(
        runs: runs, passedOver: passedOver, groups: groups, syncNames: names,
        categories: session.project.errorCategories)
      let renderer = ErrorsRenderer(report: report, terminal: session.terminal, chosenRun: run, sync: sync)
      print(renderer.render(as: format), terminator: "")
    }

    /// The run `--run` names, or the latest finished run of each sync still in use (or of SYNC)
    /// that sent rows, and the newer runs that sent none and were passed over.
    private func runs(_ session: CommandSession, names: [Int: String]) throws -> (
      read: [RunRecord], passedOver: [RunRecord]
    ) {
      let named = try sync.map { try session.syncRecords(named: $0) }
      if let run {
        let record = try session.run(id: run)
        if let sync, named?.contains(where: { $0.id == record.syncID }) != true {
          let owner = names[record.syncID] ?? "sync \(record.syncID)"
          throw CommandSession.failure("run \(run) is a run of \(owner), not of \(sync)")
        }
        return ([record], [])
      }
      let records: [SyncRecord]
      if let named {
        // The sync using the name now; for a name whose syncs are all retired, the last of them.
        let active = named.filter { $0.retiredAt == nil }
        records = active.isEmpty ? Array(named.suffix(1)) : active
      } else {
        // A retired sync's rows are never retried, so they are not failing now.
        records = try session.readingState { try session.state.syncs() }.filter { $0.retiredAt == nil }
      }
      return try session.readingState { try ErrorReport.latestRuns(of: records, in: session.state) }
    }
  }
}
