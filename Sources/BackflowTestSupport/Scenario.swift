import BackflowConfig
import BackflowConnectors
import BackflowEngine
import BackflowPlanner
import BackflowPostgres
import BackflowSQLite
import BackflowState
import Foundation

/// Where a scenario's model and state live.
public enum Backend: String, CaseIterable, Sendable {
  case sqlite
  case postgres

  /// PostgreSQL runs only where the test command started a server; the guard test in
  /// PostgresConnectionTests fails when one was required and is missing.
  public var available: Bool { self == .sqlite || TestEnvironment.postgresURL != nil }
}

/// A project in a temporary directory: a warehouse holding `users`, a SQLite "CRM" holding
/// `contacts`, and a sync between them, planned and applied through the library as the commands do.
public final class Scenario {
  public let backend: Backend
  public let directory: URL
  /// The warehouse database on PostgreSQL scenarios.
  public let postgres: PostgresDatabase?
  public var environment: [String: String] = [:]
  /// `TMPDIR` of the processes started with `environment`: the executable's temporary files
  /// (apply's plan file) are removed with the scenario, also when a test killed the process.
  public let temporaryFiles: URL
  /// When set, apply sends to it instead of the project's destination.
  public var memory: MemoryDestination?

  public static let sync = """
    model: users
    destination: local
    object: contacts
    match: { email: email }
    mappings:
      - { from: first_name, to: first_name }
      - { from: plan, to: tier }

    """

  public init(_ backend: Backend, label: String = "scenario") throws {
    self.backend = backend
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("backflow-\(UUID().uuidString)")
    temporaryFiles = directory.appendingPathExtension("tmp")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: temporaryFiles, withIntermediateDirectories: true)
    postgres = backend == .postgres ? try PostgresDatabase.create(label) : nil
    environment["TMPDIR"] = temporaryFiles.path
    if let postgres { environment["WAREHOUSE_URL"] = postgres.conninfo }
    useDestinations("  local: { type: sqlite, path: crm.db }")
    write([
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\nquery: |\n  select user_id, email, first_name, plan\n  from users\n",
      "syncs/users_to_crm.yaml": Self.sync,
    ])
    try sql("create table users (user_id integer, email text, first_name text, plan text)")
    try crm("create table contacts (email text primary key, first_name text, tier text)")
  }

  deinit {
    try? FileManager.default.removeItem(at: directory)
    try? FileManager.default.removeItem(at: temporaryFiles)
  }

  /// Rewrites backflow.yaml with the scenario's warehouse (and state on PostgreSQL) and
  /// `destinations`: YAML lines under `destinations:`, each indented two spaces.
  public func useDestinations(_ destinations: String) {
    let source = postgres == nil ? "{ type: sqlite, path: warehouse.db }" : "{ type: postgres, url: \"${WAREHOUSE_URL}\" }"
    let state = postgres.map { "state: \($0.url)\n" } ?? ""
    write(["backflow.yaml": "version: 1\n\(state)sources:\n  warehouse: \(source)\ndestinations:\n\(destinations)\n"])
  }

  /// Writes project files, replacing any of the same name.
  public func write(_ files: [String: String]) {
    ProjectFixture.write(files, into: directory, over: [:])
  }

  public func remove(_ path: String) throws {
    try FileManager.default.removeItem(at: directory.appendingPathComponent(path))
  }

  /// Runs SQL in the warehouse.
  public func sql(_ statements: String) throws {
    if let postgres {
      try postgres.connect().execute(statements)
    } else {
      try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).execute(statements)
    }
  }

  /// The rows of a query on a SQLite warehouse, as text.
  public func sqlRows(_ query: String) throws -> [[String?]] {
    try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path).query(query)
  }

  /// Inserts users as (id, email, first name, plan).
  public func insert(_ rows: [(Int?, String, String, String)]) throws {
    let values = rows.map { id, email, name, plan in "(\(id.map(String.init) ?? "null"), '\(email)', '\(name)', '\(plan)')" }
    try sql("insert into users values " + values.joined(separator: ", "))
  }

  /// Runs SQL statements in the CRM (`crm.db`).
  public func crm(_ statements: String) throws {
    try SQLiteDatabase(path: directory.appendingPathComponent("crm.db").path).execute(statements)
  }

  /// The rows of a query on the CRM, as text.
  public func crmRows(_ query: String) throws -> [[String?]] {
    try SQLiteDatabase(path: directory.appendingPathComponent("crm.db").path).query(query)
  }

  public func loadProject() throws -> Project {
    let loaded = ProjectLoader(directory: directory, displayPath: ".", environment: environment).load()
    guard !loaded.diagnostics.hasErrors else { throw ScenarioError("invalid project: \(loaded.diagnostics.sorted)") }
    return loaded.project
  }

  public func openState(writing: Bool = false) throws -> StateStore {
    let project = try loadProject()
    guard let location = StateLocation(project.state.value) else { throw ScenarioError("bad state location") }
    return try StateStore.open(location, in: directory, writer: writing ? "test" : nil)
  }

  /// Plans as `backflow plan` does (as apply does, staging models where `stages` asks); throws
  /// when the plan has errors unless `expectSuccess` is false.
  public func plan(
    selection: Set<String>? = nil, sampleSize: Int = 10, out: URL? = nil, expectSuccess: Bool = true,
    stages: WarehouseStages? = nil
  ) throws -> Plan {
    let writer = try out.map(PlanFileWriter.init(url:))
    let planner = Planner(project: try loadProject(), directory: directory, state: try openState())
    planner.stages = stages
    let plan = try planner.plan(selection: selection, commit: nil, sampleSize: sampleSize, sink: writer)
    try writer?.finish(plan, backflowVersion: "test")
    if expectSuccess, plan.diagnostics.hasErrors { throw ScenarioError("the plan has errors: \(plan.diagnostics.sorted)") }
    return plan
  }

  /// The file `apply` leaves its last plan in.
  public var planFile: URL { directory.appendingPathComponent("last.plan") }

  /// Plans to a file and applies it with the engine, as `backflow apply --auto-approve` does.
  @discardableResult
  public func apply(
    selection: Set<String>? = nil, allowMassDelete: Bool = false, cancellation: Cancellation = Cancellation()
  ) async throws -> [SyncOutcome] {
    let engine = try engine()
    _ = try plan(selection: selection, out: planFile, stages: engine.stages)
    return try await engine.apply(
      planFile: planFile, selection: selection, allowMassDelete: allowMassDelete, cancellation: cancellation)
  }

  /// Applies syncs that have never run while planning them, with no plan file, as `backflow apply
  /// --auto-approve` does for them.
  public func applyWhilePlanning(
    _ names: [String] = ["users_to_crm"], cancellation: Cancellation = Cancellation(), observer: (any ApplyObserver)? = nil
  ) async throws -> (outcomes: [SyncOutcome], plan: Plan?) {
    let engine = try engine()
    let planner = Planner(project: try loadProject(), directory: directory, state: try openState())
    planner.stages = engine.stages
    return await engine.applyWhilePlanning(
      names, planner: planner, commit: nil, cancellation: cancellation, observer: observer)
  }

  /// Applies `planFile` as it stands.
  public func applyPlanFile(
    selection: Set<String>? = nil, allowMassDelete: Bool = false, cancellation: Cancellation = Cancellation()
  ) async throws -> [SyncOutcome] {
    return try await engine().apply(
      planFile: planFile, selection: selection, allowMassDelete: allowMassDelete, cancellation: cancellation)
  }

  /// An engine on this scenario's project and state, sending to `memory` when there is one.
  private func engine() throws -> Engine {
    let engine = Engine(project: try loadProject(), directory: directory, state: try openState(writing: true))
    if let memory { engine.openConnector = { memory.connector(for: $0) } }
    return engine
  }
}

/// A scenario that could not be set up or read.
public struct ScenarioError: Error, CustomStringConvertible {
  public var description: String

  public init(_ description: String) {
    self.description = description
  }
}

extension Plan {
  /// The plan of the sync named `name`.
  public func sync(_ name: String = "users_to_crm") throws -> SyncPlan {
    guard let sync = syncs.first(where: { $0.name == name }) else { throw ScenarioError("the plan has no sync \(name)") }
    return sync
  }
}
