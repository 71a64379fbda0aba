import BackflowPostgres
import BackflowState
import Foundation

/// Helpers for the tests of `resync`, `reset-cdc` and `test`.
extension Scenario {
  /// Adds a destination to `backflow.yaml`, after `local`: `line` is `name: { … }`.
  public func addDestination(_ line: String) throws {
    let url = directory.appendingPathComponent("backflow.yaml")
    let text = try String(contentsOf: url, encoding: .utf8)
    let local = "  local: { type: sqlite, path: crm.db }\n"
    guard text.contains(local) else { throw ScenarioError("backflow.yaml has no local destination to add after") }
    write(["backflow.yaml": text.replacingOccurrences(of: local, with: local + "  " + line + "\n")])
  }

  /// A PostgreSQL database of its own holding `contacts` as the CRM's table, declared as
  /// destination `crm_db` with its URL read from `CRM_DB_URL`.
  public func addPostgresCRM() throws -> PostgresDatabase {
    let database = try PostgresDatabase.create("crm")
    try database.connect().execute("create table contacts (email text primary key, first_name text, tier text)")
    environment["CRM_DB_URL"] = database.conninfo
    try addDestination("crm_db: { type: postgres, url: \"${CRM_DB_URL}\" }")
    return database
  }

  /// The sync's record in state.
  public func syncRecord(_ name: String = "users_to_crm") throws -> SyncRecord {
    guard let record = try openState().syncs().first(where: { $0.name == name && $0.retiredAt == nil }) else {
      throw ScenarioError("sync \(name) is not in state")
    }
    return record
  }

  /// Every entry of the sync's snapshot, by key.
  public func snapshot(_ name: String = "users_to_crm") throws -> [SnapshotEntry] {
    let state = try openState()
    guard let record = try state.syncs().first(where: { $0.name == name && $0.retiredAt == nil }) else { return [] }
    let stream = try state.snapshot(syncID: record.id)
    var entries: [SnapshotEntry] = []
    while let entry = try stream.next() { entries.append(entry) }
    return entries
  }

  /// Runs the built `backflow` in the project with the scenario's environment.
  public func backflow(_ arguments: [String]) throws -> BackflowProcess.Output {
    try BackflowProcess.run(arguments, in: directory, environment: environment)
  }
}
