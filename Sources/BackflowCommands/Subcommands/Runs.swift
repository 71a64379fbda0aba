import ArgumentParser
import BackflowConfig
import BackflowState

extension Backflow {
  /// `backflow runs`: run history from the state store, newest first; `runs show RUN` for one run.
  public struct Runs: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Show run history: the runs of every sync, or of one, newest first.",
      discussion: "Reads the state store and changes nothing. Columns and JSON fields: docs/runs.md.",
      subcommands: [List.self, Show.self],
      defaultSubcommand: List.self)

    public init() {}
  }
}

extension Backflow.Runs {
  /// `backflow runs [SYNC]`: the default subcommand.
  public struct List: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "List runs newest first: status, times, rows queried, planned, succeeded and rejected rows.")

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("Only the runs of this sync.", valueName: "sync"))
    var sync: String?

    @Option(help: "text or json (documented in docs/runs.md).")
    var format: HistoryFormat = .text

    @Option(help: ArgumentHelp("Show at most N runs; 0 shows every run.", valueName: "n"))
    var limit = 20

    public init() {}

    public func validate() throws {
      guard limit >= 0 else { throw ValidationError("--limit must be 0 (every run) or more") }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      let syncIDs = try sync.map { try session.syncRecords(named: $0).map(\.id) }
      // One more than asked for tells whether older runs were left out.
      let found = try session.readingState {
        try session.state.runs(syncIDs: syncIDs, limit: limit == 0 ? nil : limit + 1)
      }
      let runs = limit == 0 ? found : Array(found.prefix(limit))
      let renderer = RunsRenderer(terminal: session.terminal, syncNames: try session.syncNames())
      print(renderer.list(runs, truncated: found.count > runs.count, sync: sync, as: format), terminator: "")
    }
  }

  /// `backflow runs show RUN`: one run in full.
  public struct Show: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Show one run: times, git commit, counts per operation, its error and a sample of its failed rows.")

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("The run ID, as `backflow runs` lists it.", valueName: "run"))
    var run: Int

    @Option(help: "text or json (documented in docs/runs.md).")
    var format: HistoryFormat = .text

    @Option(help: ArgumentHelp("Show up to N failed rows.", valueName: "n"))
    var rows = 10

    public init() {}

    public func validate() throws {
      guard rows >= 0 else { throw ValidationError("--rows must be 0 or more") }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      let record = try session.run(id: run)
      let (sample, failedRows) = try session.readingState {
        (try session.state.failures(runID: record.id, limit: rows), try session.state.failureCount(runID: record.id))
      }
      let renderer = RunsRenderer(terminal: session.terminal, syncNames: try session.syncNames())
      print(renderer.show(record, sample: sample, failedRows: failedRows, as: format), terminator: "")
    }
  }
}
