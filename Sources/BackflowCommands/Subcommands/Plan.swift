import ArgumentParser
import BackflowConfig
import BackflowPlanner
import BackflowState
import Foundation

extension PlanFormat: ExpressibleByArgument {}

extension Backflow {
  /// `backflow plan`: what apply would do to each sync's config and rows; changes nothing.
  public struct Plan: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Show what apply would change: each sync's config and the rows to add, change and remove.",
      discussion: """
        Reads the models and the state store and changes nothing. Exits 0 on success and 1 on an \
        error; with --detailed-exitcode, 2 when there are changes.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Option(
      parsing: .upToNextOption,
      help: ArgumentHelp("Plan only these syncs; NAME+ adds the syncs that run after NAME.", valueName: "sync"))
    var select: [String] = []

    @Option(help: "text, json (documented in docs/plan-format.md) or markdown (for a pull-request comment).")
    var format: PlanFormat = .text

    @Option(help: ArgumentHelp("Write a plan file that `apply FILE` executes exactly.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("List up to N row keys per operation.", valueName: "n"))
    var showRows = 0

    @Flag(
      help: "Render the first request of each operation the plan would send to a rest destination (text format); nothing is sent.")
    var showRequests = false

    @Flag(help: "Exit 2 when the plan has changes, 0 when it has none, 1 on an error.")
    var detailedExitcode = false

    @Option(
      help: ArgumentHelp(
        "Also show each sync's config diff between this git ref (origin/main) and the working tree.",
        valueName: "ref"))
    var base: String?

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let selection = try session.selection(select)
      var configBase: ConfigBase?
      if let base {
        do {
          configBase = try ConfigBase.load(
            ref: base, directory: global.projectURL, environment: ProcessInfo.processInfo.environment)
        } catch let error as GitRepository.Failure {
          throw CommandSession.failure(error.message)
        }
        if let problems = configBase?.diagnostics, problems.hasErrors {
          printError(
            "warning: the project at \(base) has \(plural(problems.errorCount, "error")); syncs it could not read "
              + "show as added since \(base)", prefix: false)
        }
      }
      let writer = try out.map { try PlanFileWriter(url: session.workingDirectory.resolvingProjectPath($0)) }
      // The preview renders the first planned row of each operation, so it needs one key each.
      var plan = try Planner(project: session.project, directory: global.projectURL, state: session.state).plan(
        selection: selection, commit: GitCommit.head(of: global.projectURL),
        sampleSize: max(showRows, showRequests ? 1 : 0), sink: writer)
      let preview =
        showRequests && format == .text
        ? await RequestPreview(
          project: session.project, directory: global.projectURL, state: session.state, terminal: session.terminal
        ).lines(for: plan) : []
      if showRows == 0 {
        for index in plan.syncs.indices { plan.syncs[index].data?.sampleKeys = [:] }
      }
      configBase?.noteUnplannedRemovals(project: session.project, plan: plan, selection: selection)
      let renderer = PlanRenderer(
        plan: plan, terminal: session.terminal, stateDescription: session.stateDescription, base: configBase)
      print(renderer.render(as: format), terminator: "")
      if !preview.isEmpty { print(preview.joined(separator: "\n")) }
      // In GitHub Actions the job summary gets the Markdown plan, whatever stdout's format.
      StepSummary.write { renderer.markdown(limit: $0) }
      if plan.diagnostics.hasErrors {
        if out != nil, format == .text { printError("No plan file was written: the plan has errors.") }
        throw ExitCode.failure
      }
      if let writer, let out {
        try writer.finish(plan, backflowVersion: BackflowVersion.current)
        if format == .text, !global.quiet { print("Saved the plan to \(out); `backflow apply \(out)` runs exactly it.") }
      }
      if detailedExitcode, plan.hasChanges { throw ExitCode(2) }
    }
  }
}
