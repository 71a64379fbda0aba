import ArgumentParser
import BackflowConfig
import BackflowState
import Foundation

/// What every command that reads state starts from: a valid project, the terminal, and the state
/// store. Built once, so loading, error output and exit codes are decided in one place.
struct CommandSession {
  let project: Project
  let terminal: Terminal
  let state: StateStore
  /// The state store as output names it: its path, or its URL as written, never a password.
  let stateDescription: String
  let workingDirectory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)

  /// Loads the project and opens state, for reading unless `writer` (the Backflow version) is given.
  /// An invalid project or an unreachable state store ends the command with exit code 1.
  init(global: GlobalOptions, writer: String? = nil) throws {
    let loaded = global.loadProject()
    terminal = Terminal(options: global)
    let errorTerminal = Terminal(colors: false)
    guard !loaded.diagnostics.hasErrors else {
      printError(DiagnosticRenderer(terminal: errorTerminal).text(loaded.diagnostics.sorted), prefix: false)
      throw Self.failure("the project is not valid; `backflow validate` lists every problem")
    }
    project = loaded.project
    let written = global.state.map { Located($0, at: SourceLocation(file: "--state", line: 1, column: 1)) }
      ?? project.state
    guard let location = StateLocation(written.value) else {
      throw Self.failure("\(written.location): state must be sqlite:PATH or a postgres:// URL")
    }
    stateDescription = written.isSecret ? written.written ?? "(from the environment)" : Self.describe(location)
    do {
      state = try StateStore.open(location, in: global.projectURL, writer: writer)
    } catch let error as StateError {
      throw Self.failure("state store \(stateDescription): \(error)")
    }
  }

  /// Prints `message` as an error and returns the exit code to throw.
  static func failure(_ message: String) -> ExitCode {
    printError(message)
    return ExitCode.failure
  }

  /// A SQLite path as written; a PostgreSQL URL without its password.
  private static func describe(_ location: StateLocation) -> String {
    switch location {
    case let .sqlite(path): return "sqlite:\(path)"
    case let .postgres(url):
      guard var components = URLComponents(string: url), components.password != nil else { return url }
      components.password = "***"
      return components.string ?? "postgres://"
    }
  }
}

/// Writes to standard error, as `error: message` unless `prefix` is false.
func printError(_ message: String, prefix: Bool = true) {
  let text = (prefix ? "error: " : "") + message + (message.hasSuffix("\n") ? "" : "\n")
  FileHandle.standardError.write(Data(text.utf8))
}
