import ArgumentParser
import BackflowConfig
import BackflowState

/// What `runs` and `errors` share: reading history from state, and turning sync names into IDs.
extension CommandSession {
  /// Runs `body` against state; a failure ends the command with a message that names the store.
  func readingState<Result>(_ body: () throws -> Result) throws -> Result {
    do {
      return try body()
    } catch let exit as ExitCode {
      throw exit
    } catch {
      throw Self.failure("state store \(stateDescription): \(error)")
    }
  }

  /// Every sync state knows, by ID; a sync keeps its name after it is retired.
  func syncNames() throws -> [Int: String] {
    try readingState { Dictionary(uniqueKeysWithValues: try state.syncs().map { ($0.id, $0.name) }) }
  }

  /// The syncs state knows under `name`, oldest first (a name is free again once its sync is
  /// retired, so it can have had several IDs). A name that is in the project but has never been
  /// applied has none; a name that is in neither ends the command with "did you mean".
  func syncRecords(named name: String) throws -> [SyncRecord] {
    let records = try readingState { try state.syncs() }
    let matching = records.filter { $0.name == name }
    let projectNames = project.syncs.map(\.name.value)
    guard matching.isEmpty, !projectNames.contains(name) else { return matching }
    let known = Set(records.map(\.name)).union(projectNames).sorted()
    throw Self.failure(
      "there is no sync named \"\(name)\" in the project or the state store\(Suggestion.hint(for: name, in: known))")
  }

  /// The run with ID `id`; an unknown ID ends the command.
  func run(id: Int) throws -> RunRecord {
    guard let run = try readingState({ try state.run(id: id) }) else {
      throw Self.failure("there is no run \(id) in the state store \(stateDescription); `backflow runs` lists the runs")
    }
    return run
  }
}
