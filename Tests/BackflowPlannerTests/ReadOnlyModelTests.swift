import BackflowConfig
import BackflowPlanner
import BackflowTestSupport
import Foundation
import Testing

/// A plan never changes anything: a model whose query writes fails and writes nothing.
@Suite("read-only models")
struct ReadOnlyModelTests {
  @Test func aPostgreSQLModelThatTriesToWriteFailsAndWritesNothing() throws {
    guard Backend.postgres.available else { return }
    let scenario = try Scenario(.postgres)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "free")])
    try scenario.sql(
      """
      create function sneaky() returns int language plpgsql as $$
      begin delete from users where user_id > 1; return 1; end $$
      """)
    scenario.write([
      "syncs/models/users.yaml": """
        source: warehouse
        primary_key: user_id
        query: select user_id, email, first_name, plan from users where sneaky() = 1

        """
    ])
    let plan = try scenario.plan(expectSuccess: false)
    let errors = plan.diagnostics.all.filter { $0.severity == .error }
    #expect(errors.contains { $0.message.contains("the model tried to write") && $0.message.contains("read-only transaction") }, "\(errors)")
    #expect(errors.first?.location.file == "syncs/models/users.yaml", "\(errors)")
    let postgres = try #require(scenario.postgres)
    #expect(try postgres.connect().query("select count(*) from users") == [["2"]])
  }
}

/// `table:` is a name, quoted for the source's database, never SQL.
@Suite("table models")
struct TableModelTests {
  func plan(_ backend: Backend, table: String, setup: String = "") throws -> (Scenario, Plan) {
    let scenario = try Scenario(backend)
    try scenario.insert([(1, "ada@example.com", "Ada", "pro"), (2, "bob@example.com", "Bob", "free"), (3, "cy@example.com", "Cy", "pro")])
    if !setup.isEmpty { try scenario.sql(setup) }
    scenario.write(["syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\ntable: '\(table)'\n"])
    return (scenario, try scenario.plan(expectSuccess: false))
  }

  @Test(arguments: Backend.allCases)
  func sqlWrittenAsATableNameIsANameThatDoesNotExist(backend: Backend) throws {
    guard backend.available else { return }
    let (_, plan) = try plan(backend, table: "users where user_id < 3")
    let errors = plan.diagnostics.all.filter { $0.severity == .error }.map(\.message)
    #expect(errors.contains { $0.contains("users where user_id < 3") }, "\(errors)")
    #expect(plan.syncs.first?.data == nil)
  }

  @Test(arguments: Backend.allCases)
  func quotedAndQualifiedNamesReadTheirTable(backend: Backend) throws {
    guard backend.available else { return }
    let schema = backend == .postgres ? "public" : "main"
    let (_, plain) = try plan(backend, table: "\(schema).users")
    #expect(!plain.diagnostics.hasErrors, "\(plain.diagnostics.all)")
    #expect(try plain.sync().data?.add == 3)
    let (_, mixed) = try plan(
      backend, table: "\"Odd \"\"Users\"\"\"",
      setup: "create table \"Odd \"\"Users\"\"\" as select * from users where user_id < 3")
    #expect(!mixed.diagnostics.hasErrors, "\(mixed.diagnostics.all)")
    #expect(try mixed.sync().data?.add == 2)
  }

  @Test func aNameThatDoesNotParseIsReportedWhereItIsWritten() {
    let loaded = ProjectFixture.load([
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: user_id\ntable: a.b.c\n"
    ])
    let error = loaded.diagnostics.sorted.first { $0.severity == .error }
    #expect(error?.location.file == "syncs/models/users.yaml" && error?.location.line == 3 && error?.location.column == 8)
    #expect(error?.message.contains("table: must be a table name, table or schema.table") == true, "\(String(describing: error))")
  }
}
