import BackflowConfig
import BackflowPlanner
import BackflowPostgres
import BackflowSQLite
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// Where a scenario's model and state live.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
  case sqlite
  case postgres

  var testDescription: String { rawValue }
  /// PostgreSQL runs only where the test command started a server; the guard test in
  /// PostgresConnectionTests fails when one was required and is missing.
  var available: Bool { self == .sqlite || TestEnvironment.postgresURL != nil }
}

/// A project in a temporary directory, with a warehouse holding `users` and a sync over it,
/// planned through the library as `backflow plan` does.
final class PlanScenario {
  let backend: Backend
  let directory: URL
  private let postgres: PostgresDatabase?
  var environment: [String: String] = [:]

  static let sync = """
    model: users
    destination: local
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: first_name }
      - { from: plan, to: tier }

    """

  init(_ backend: Backend, label: String = "plan") throws {
    self.backend = backend
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("backflow-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    postgres = backend == .postgres ? try PostgresDatabase.create(label) : nil
    let source: String
    let state: String
    if let postgres {
      environment["WAREHOUSE_URL"] = postgres.conninfo
      source = "{ type: postgres, url: \"${WAREHOUSE_URL}\" }"
      state = "state: \(postgres.url)\n"
    } else {
      source = "{ type: sqlite, path: warehouse.db }"
      state = ""
    }
    write([
      "backflow.yaml": """
        version: 1
        \(state)sources:
          warehouse: \(source)
        destinations:
          local: { type: sqlite, path: crm.db }

        """,
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: |\n  select user_id, email, first_name, plan\n  from users\n",
      "syncs/users_to_crm.yaml": Self.sync,
    ])
    try sql("create table users (user_id integer, email text, first_name text, plan text)")
  }

  deinit {
    try? FileManager.default.removeItem(at: directory)
  }

  /// Writes project files, replacing any of the same name.
  func write(_ files: [String: String]) {
    for (path, text) in files {
      let url = directory.appendingPathComponent(path)
      #expect(throws: Never.self) {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
      }
    }
  }

  func remove(_ path: String) throws {
    try FileManager.default.removeItem(at: directory.appendingPathComponent(path))
  }

  /// Runs SQL in the warehouse.
  func sql(_ statements: String) throws {
    if let postgres {
      try postgres.connect().execute(statements)
    } else {
      try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).execute(statements)
    }
  }

  /// Inserts users as (id, email, first name, plan).
  func insert(_ rows: [(Int?, String, String, String)]) throws {
    let values = rows.map { id, email, name, plan in "(\(id.map(String.init) ?? "null"), '\(email)', '\(name)', '\(plan)')" }
    try sql("insert into users values " + values.joined(separator: ", "))
  }

  func loadProject() throws -> Project {
    let loaded = ProjectLoader(directory: directory, displayPath: ".", environment: environment).load()
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.sorted)")
    return loaded.project
  }

  func openState(writing: Bool = false) throws -> StateStore {
    let project = try loadProject()
    return try StateStore.open(
      try #require(StateLocation(project.state.value)), in: directory, writer: writing ? "test" : nil)
  }

  func plan(selection: Set<String>? = nil, sampleSize: Int = 10, out: URL? = nil, expectSuccess: Bool = true) throws
    -> Plan
  {
    let writer = try out.map(PlanFileWriter.init(url:))
    let plan = try Planner(project: try loadProject(), directory: directory, state: try openState()).plan(
      selection: selection, commit: nil, sampleSize: sampleSize, sink: writer)
    try writer?.finish(plan, backflowVersion: "test")
    #expect(!plan.diagnostics.hasErrors || !expectSuccess, "\(plan.diagnostics.sorted)")
    return plan
  }

  /// Plans to a file and records it as an apply in which every row succeeded.
  @discardableResult
  func apply() throws -> Plan {
    let file = directory.appendingPathComponent("last.plan")
    let plan = try plan(out: file)
    try PlanRecorder.record(planFile: file, into: try openState(writing: true))
    return plan
  }
}

extension Plan {
  func sync(_ name: String = "users_to_crm") throws -> SyncPlan {
    try #require(syncs.first { $0.name == name })
  }
}
