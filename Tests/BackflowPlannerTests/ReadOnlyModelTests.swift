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
