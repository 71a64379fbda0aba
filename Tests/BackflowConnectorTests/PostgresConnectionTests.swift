import BackflowPostgres
import BackflowTestSupport
import Testing

@Suite("PostgresConnection")
struct PostgresConnectionTests {
  /// Every test below that needs a server opens its own connection and uses temporary tables, so
  /// the tests can run in parallel against the one database `scripts/with-postgres.sh` creates.
  private func connect() throws -> PostgresConnection {
    let url = try #require(TestEnvironment.postgresURL)
    return try PostgresConnection(conninfo: url)
  }

  @Test("a run that requires PostgreSQL can reach it, so PostgreSQL tests never silently skip")
  func requiredServerIsReachable() throws {
    guard TestEnvironment.requiresPostgres else { return }
    let url = try #require(
      TestEnvironment.postgresURL,
      "BACKFLOW_REQUIRE_POSTGRES is set but BACKFLOW_TEST_POSTGRES_URL is not")
    let connection = try PostgresConnection(conninfo: url)
    #expect(try connection.query("select current_database()") == [["backflow_test"]])
  }

  @Test(
    "rows come back as text, NULL as nil and distinct from the empty string",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func roundTripsRows() throws {
    let connection = try connect()
    try connection.execute(
      """
      create temp table people (id int primary key, name text, note text, score numeric);
      insert into people values
        (1, 'Ada', null, 1.50),
        (2, null, 'x', null),
        (3, '', 'Zoë ✓ 日本', -2),
        (4, 'O''Brien', e'two\\nlines', 0);
      """)
    let rows = try connection.query("select id, name, note, score from people order by id")
    #expect(
      rows == [
        ["1", "Ada", nil, "1.50"],
        ["2", nil, "x", nil],
        ["3", "", "Zoë ✓ 日本", "-2"],
        ["4", "O'Brien", "two\nlines", "0"],
      ])
  }

  @Test(
    "a statement without rows returns none", .enabled(if: TestEnvironment.postgresURL != nil))
  func commandReturnsNoRows() throws {
    let connection = try connect()
    #expect(try connection.query("create temp table empty_result (id int)") == [])
    #expect(try connection.query("select * from empty_result") == [])
  }

  @Test(
    "a syntax error carries SQLSTATE 42601 and leaves the connection usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func syntaxError() throws {
    let connection = try connect()
    let error = #expect(throws: PostgresError.self) { try connection.query("selec 1") }
    #expect(error?.sqlState == "42601")
    #expect(error?.description.contains("syntax error at or near \"selec\"") == true)
    #expect(error?.description.contains("SQLSTATE 42601") == true)
    #expect(try connection.query("select 1") == [["1"]])
  }

  @Test(
    "a unique violation names the constraint", .enabled(if: TestEnvironment.postgresURL != nil))
  func uniqueViolation() throws {
    let connection = try connect()
    try connection.execute(
      """
      create temp table contacts (
        email text constraint contacts_email_key unique,
        name text
      );
      insert into contacts values ('a@example.com', 'Ada');
      """)
    let error = #expect(throws: PostgresError.self) {
      try connection.execute("insert into contacts values ('a@example.com', 'Other')")
    }
    #expect(error?.sqlState == "23505")
    #expect(error?.description.contains("contacts_email_key") == true)
  }

  @Test(
    "COPY through query() is refused and the connection stays usable",
    .enabled(if: TestEnvironment.postgresURL != nil))
  func copyIsRefused() throws {
    let connection = try connect()
    try connection.execute("create temp table copied (id int)")
    #expect(throws: PostgresError.self) { try connection.execute("copy copied from stdin") }
    #expect(throws: PostgresError.self) { try connection.query("copy (select 1) to stdout") }
    #expect(try connection.query("select count(*) from copied") == [["0"]])
  }

  /// libpq quotes malformed connection strings back, URIs whole; none of these may reach the error.
  @Test(
    "a connection error never shows the connection string or its password",
    arguments: [
      "host=127.0.0.1 port=1 password=hunter2 user=x",
      "postgresql://x:hunter2@127.0.0.1:1/db",
      "postgresql://x:hunter2@[::1/db",
      "postgresql://x:hunter2%zz@127.0.0.1/db",
      "postgresql://x:hun\"ter2@[::1/db",
      "host=127.0.0.1 password=hunter2 junk\"hunter2",
    ])
  func connectionErrorHidesSecrets(conninfo: String) throws {
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(conninfo: conninfo)
    }
    let description = try #require(error).description
    #expect(!description.isEmpty)
    #expect(!description.contains("hunter2"))
    #expect(!description.contains("ter2"))
    #expect(!description.contains(conninfo))
  }

  @Test("an unknown connection option is named, since it is a keyword and not a value")
  func unknownOptionIsNamed() {
    let error = #expect(throws: PostgresError.self) {
      try PostgresConnection(conninfo: "host=127.0.0.1 dbnme=x password=hunter2")
    }
    #expect(error?.description == "invalid connection option \"dbnme\"")
  }
}
