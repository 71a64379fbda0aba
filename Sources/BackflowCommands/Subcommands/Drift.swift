import ArgumentParser
import BackflowConfig
import BackflowEngine
import BackflowPlanner
import BackflowState
import Foundation

extension Backflow {
  /// `backflow drift`: where the repository no longer matches the config last applied, and where
  /// destinations no longer hold what Backflow last wrote.
  public struct Drift: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Show config drift (repository vs applied) and data drift (destination vs last written).",
      discussion: """
        Config drift: syncs whose config differs from the config last applied, syncs applied but \
        gone from the repository, syncs never applied. Data drift (PostgreSQL and SQLite tables): \
        records whose mapped fields differ from what Backflow last wrote, records missing, and in \
        mirror mode records that should not be there. Rows with pending changes are not compared. \
        Changes nothing unless --repair is given. Exits 0 without drift, 2 with drift, 1 on an \
        error. Documented in docs/drift.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Option(
      parsing: .upToNextOption,
      help: ArgumentHelp("Check only these syncs; NAME+ adds the syncs that run after NAME.", valueName: "sync"))
    var select: [String] = []

    @Option(help: "text, json (documented in docs/drift.md) or markdown (for an issue or pull-request comment).")
    var format: PlanFormat = .text

    @Flag(help: "Compare config only: read no model and no destination.")
    var configOnly = false

    @Option(help: ArgumentHelp("Show up to N drifted records of each kind per sync.", valueName: "n"))
    var sample = 5

    @Flag(
      help: """
        Make the next apply send the differing and missing records again (their snapshot rows are \
        dropped); records that should not be there are left alone.
        """)
    var repair = false

    public init() {}

    public func validate() throws {
      if repair, configOnly { throw ValidationError("--repair needs the data check; drop --config-only") }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      let selection = try session.selection(select)
      let commit = GitCommit.head(of: global.projectURL)
      var report: DriftReport
      do {
        if configOnly {
          report = try DriftReport.configDrift(
            project: session.project, records: try session.state.syncs(), selection: selection, commit: commit)
        } else {
          let checker = DataDrift(
            project: session.project, directory: global.projectURL, state: session.state, sampleSize: max(sample, 0),
            repairing: repair)
          report = try await checker.report(selection: selection, commit: commit)
          if repair, !report.hasErrors { try checker.repair(&report, writable: try session.writableState()) }
        }
      } catch let error as StateError {
        throw CommandSession.failure("state store \(session.stateDescription): \(error)")
      }
      let renderer = DriftRenderer(report: report, terminal: session.terminal, stateDescription: session.stateDescription)
      print(renderer.render(as: format), terminator: "")
      StepSummary.write { renderer.markdown(limit: $0) }
      if report.hasErrors {
        if repair { printError("nothing was repaired: some syncs could not be checked") }
        throw ExitCode.failure
      }
      if report.hasDrift { throw ExitCode(2) }
    }
  }
}
