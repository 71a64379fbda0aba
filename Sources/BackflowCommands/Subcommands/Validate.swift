import ArgumentParser
import BackflowConfig
import BackflowConnectors

extension Backflow {
  /// `backflow validate`: every problem in every file at once; opens no connection.
  public struct Validate: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Check backflow.yaml and every file under syncs/, reporting all problems at once.",
      discussion: "Exits 0 when the project is valid and 1 when it is not. Opens no connection.")

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Option(help: "text, json (Terraform's validate -json shape) or github (pull-request annotations).")
    var format: DiagnosticFormat = .text

    public init() {}

    public func run() async throws {
      var loaded = global.loadProject()
      if let state = global.state, StateLocation(state) == nil {
        loaded.diagnostics.error(
          "--state \(StateLocation.requirement(for: state))", at: SourceLocation(file: "--state", line: 1, column: 1))
      }
      let terminal = Terminal(options: global)
      let diagnostics = loaded.diagnostics
      if global.verbose, format == .text {
        print("Checked \(plural(loaded.files.count, "file")): \(loaded.files.joined(separator: ", "))")
      }
      print(DiagnosticRenderer(terminal: terminal).render(diagnostics, as: format), terminator: "")
      if format == .text, !global.quiet {
        print(ProjectSummary(project: loaded.project, diagnostics: diagnostics, terminal: terminal).text, terminator: "")
      }
      StepSummary.write(DiagnosticRenderer(terminal: terminal).markdown(diagnostics, files: loaded.files.count))
      if diagnostics.hasErrors { throw ExitCode.failure }
    }
  }
}

extension GlobalOptions {
  /// Reads and validates the project named by `--project`.
  func loadProject() -> LoadedProject {
    projectLoader.load()
  }

  var projectLoader: ProjectLoader {
    ProjectLoader(directory: projectURL, displayPath: project)
  }
}
