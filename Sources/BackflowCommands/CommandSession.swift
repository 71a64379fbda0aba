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
  /// Where state lives, for commands that open more connections of their own.
  let stateLocation: StateLocation
  private let projectURL: URL

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
      throw Self.failure("\(written.location): state \(StateLocation.requirement(for: written.value))")
    }
    stateDescription = written.isSecret ? written.written ?? "(from the environment)" : Self.describe(location)
    stateLocation = location
    projectURL = global.projectURL
    state = try Self.open(location, in: projectURL, writer: writer, description: stateDescription)
  }

  /// The syncs `--select` names (every sync when `nil`); an unknown name ends the command with
  /// exit code 1.
  func selection(_ arguments: [String]) throws -> Set<String>? {
    let selection = SyncSelection(arguments, project: project, knownNames: Set(try state.syncs().map(\.name)))
    guard selection.errors.isEmpty else {
      selection.errors.forEach { printError($0) }
      throw ExitCode.failure
    }
    return selection.names
  }

  /// Opens the state store again for writing, creating or migrating it: for commands that read
  /// first and write only once the user agrees.
  func writableState() throws -> StateStore {
    try Self.open(stateLocation, in: projectURL, writer: BackflowVersion.current, description: stateDescription)
  }

  private static func open(_ location: StateLocation, in directory: URL, writer: String?, description: String) throws
    -> StateStore
  {
    do {
      return try StateStore.open(location, in: directory, writer: writer)
    } catch let error as StateError {
      throw failure("state store \(description): \(error)")
    }
  }

  /// Prints `message` as an error and returns the exit code to throw.
  static func failure(_ message: String) -> ExitCode {
    printError(message)
    return ExitCode.failure
  }

  /// A SQLite path as written; a PostgreSQL URL or key=value string with its credentials masked.
  private static func describe(_ location: StateLocation) -> String {
    switch location {
    case let .sqlite(path): "sqlite:\(path)"
    case let .postgres(conninfo): Redaction.redact(conninfo)
    }
  }
}

/// Writes to standard error, as `error: message` unless `prefix` is false, credentials masked.
func printError(_ message: String, prefix: Bool = true) {
  let text = (prefix ? "error: " : "") + Redaction.redact(message) + (message.hasSuffix("\n") ? "" : "\n")
  FileHandle.standardError.write(Data(text.utf8))
}
