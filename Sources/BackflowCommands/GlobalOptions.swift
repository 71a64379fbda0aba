import ArgumentParser
import Foundation

/// Options every subcommand takes.
public struct GlobalOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("The project directory, holding backflow.yaml.", valueName: "dir"))
  public var project: String = "."

  @Option(name: .long, help: ArgumentHelp("Override the state store: sqlite:PATH, a postgres:// URL or a libpq key=value string.", valueName: "url"))
  public var state: String?

  @Flag(name: .long, help: "Never colour output (colour is only used at a terminal anyway).")
  public var noColor = false

  @Flag(name: .shortAndLong, help: "Print only errors and results.")
  public var quiet = false

  @Flag(name: .shortAndLong, help: "Print more detail.")
  public var verbose = false

  public init() {}

  /// The project directory, resolved against the current directory.
  public var projectURL: URL {
    URL(fileURLWithPath: project, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
      .standardizedFileURL
  }
}
