import BackflowConfig
import BackflowEngine
import BackflowTestSupport
import Foundation
import Testing

/// Names from config are names, quoted for their database, never SQL: a schema, table and column
/// written to break out of their quotes name a schema, table and column that hold exactly that.
@Suite("hostile names")
struct HostileNameTests {
  /// Each would drop `canary` if it reached SQL unquoted, or quoted naively.
  static let schema = "crm\"; drop table canary; --"
  static let table = "con\"\"tacts'; drop table canary; --"
  static let column = "tier\"); drop table canary; --"

  static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

  /// `object:` as a YAML single-quoted string of the config's quoted parts.
  static func object(_ parts: [String]) -> String {
    "'" + parts.map(quoted).joined(separator: ".").replacingOccurrences(of: "'", with: "''") + "'"
  }

  static func sync(destination: String, object: String, column: String = column) -> String {
    "model: users\ndestination: \(destination)\nobject: \(object)\nmatch: { email: email }\n"
      + "mappings:\n  - { from: plan, to: '\(column)' }\n"
  }

  @Test(arguments: Backend.allCases)
  func aHostileTableAndColumnAreNamesOnTheDestination(backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try Scenario(backend)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "free")])
    let create = "create table canary (x int); insert into canary values (1);"
    let rows: () throws -> [[String?]]
    let canary: () throws -> [[String?]]
    if backend == .postgres {
      let crm = try scenario.addPostgresCRM()
      try crm.connect().execute(
        create + "create schema \(Self.quoted(Self.schema));"
          + "create table \(Self.quoted(Self.schema)).\(Self.quoted(Self.table)) (email text primary key, \(Self.quoted(Self.column)) text)")
      scenario.write(["syncs/users_to_crm.yaml": Self.sync(destination: "crm_db", object: Self.object([Self.schema, Self.table]))])
      rows = {
        try crm.connect().query(
          "select email, \(Self.quoted(Self.column)) from \(Self.quoted(Self.schema)).\(Self.quoted(Self.table)) order by email")
      }
      canary = { try crm.connect().query("select x from canary") }
    } else {
      try scenario.crm(create + "create table \(Self.quoted(Self.table)) (email text primary key, \(Self.quoted(Self.column)) text)")
      scenario.write(["syncs/users_to_crm.yaml": Self.sync(destination: "local", object: Self.object([Self.table]))])
      rows = { try scenario.crmRows("select email, \(Self.quoted(Self.column)) from \(Self.quoted(Self.table)) order by email") }
      canary = { try scenario.crmRows("select x from canary") }
    }
    let outcome = try #require(try await scenario.apply().first)
    #expect(outcome.succeeded, "\(String(describing: outcome.error))")
    #expect(try rows() == [["ada@example.com", "pro"], ["bob@example.com", "free"]])
    #expect(try canary() == [["1"]])
  }

  /// MySQL quotes with backticks: the names hold one each.
  @Test(.enabled(if: TestEnvironment.mysqlURL != nil))
  func aHostileTableAndColumnAreNamesOnAMySQLDestination() async throws {
    let table = "con`tacts'; drop table canary; --"
    let column = "tier`); drop table canary; --"
    func ticked(_ name: String) -> String { "`" + name.replacingOccurrences(of: "`", with: "``") + "`" }
    let scenario = try Scenario(.sqlite)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "free")])
    let crm = try scenario.addMySQLCRM(
      table: "create table \(ticked(table)) (email varchar(255) primary key, \(ticked(column)) varchar(20))")
    try crm.execute("create table canary (x int)", "insert into canary values (1)")
    scenario.write(["syncs/users_to_crm.yaml": Self.sync(destination: "crm_mysql", object: Self.object([table]), column: column)])
    let outcome = try #require(try await scenario.apply().first)
    #expect(outcome.succeeded, "\(String(describing: outcome.error))")
    #expect(
      try crm.query("select email, \(ticked(column)) from \(ticked(table)) order by email")
        == [["ada@example.com", "pro"], ["bob@example.com", "free"]])
    #expect(try crm.query("select x from canary") == [["1"]])
  }

  @Test func aSyncLogSchemaThatIsNoPlainNameIsRefusedWhereItIsWritten() {
    let loaded = ProjectFixture.load([
      "backflow.yaml": "version: 1\nsources:\n  w: { type: sqlite, path: w.db }\nsync_logs: { source: w, schema: 'logs; drop table canary' }\n"
    ])
    let error = loaded.diagnostics.sorted.first { $0.severity == .error }
    #expect(error?.location.file == "backflow.yaml" && error?.location.line == 4, "\(String(describing: error))")
    #expect(error?.message.contains("must be a plain SQL identifier") == true, "\(String(describing: error))")
  }
}
