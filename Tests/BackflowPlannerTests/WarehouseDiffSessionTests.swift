import BackflowConfig
import BackflowConnectors
import BackflowPostgres
import BackflowSources
import BackflowTestSupport
import Foundation
import Testing

/// The warehouse diff changes its session's settings for its own statement only: whether its rows
/// are read to the end, left unread or end in an error, the source's connection is left idle, out
/// of any transaction, with its own settings, and takes the next statement.
@Suite("warehouse diff session")
struct WarehouseDiffSessionTests {
  /// Every item, with the session's `jit` setting as a column.
  let model = ModelSQL(
    .query(Located(
      "select k, 10 / divisor as ratio, current_setting('jit') as jit from items",
      at: SourceLocation(file: "test", line: 1, column: 1))), quote: PostgresConnection.quoteIdentifier)

  /// A database with 50 items and a stale snapshot of keys 40…60, and a reader of it whose session
  /// starts with JIT on, so the diff's `jit = off` shows in a model's rows.
  func fixture() throws -> (scenario: Scenario, reader: any WarehouseDiffing, application: String) {
    let scenario = try Scenario(.postgres, label: "warehouse_session")
    try scenario.sql(
      """
      create table items (k text, divisor int);
      insert into items select i::text, 1 from generate_series(1, 50) as i;
      create table snaps (sync_id bigint, row_key text collate "C", fingerprint text, match_value text);
      insert into snaps select 1, i::text, 'stale', null from generate_series(40, 60) as i;
      """)
    let application = "bf_diff_\(UUID().uuidString.prefix(8).lowercased())"
    scenario.environment["WAREHOUSE_URL"] =
      (scenario.postgres?.conninfo ?? "") + " application_name=\(application) options='-c jit=on'"
    let source = try #require(try scenario.loadProject().sources.first { $0.name.value == "warehouse" })
    let reader = try #require(try ConnectorRegistry.standard.modelReader(for: source, in: scenario.directory) as? any WarehouseDiffing)
    return (scenario, reader, application)
  }

  func diff(_ reader: any WarehouseDiffing) throws -> any WarehouseDiffStream {
    try reader.diff(
      model, relation: nil, key: "k", columns: ["jit", "ratio"], signature: "s",
      snapshot: WarehouseSnapshot(
        entries: "SELECT row_key, fingerprint, match_value FROM snaps WHERE sync_id = 1",
        count: "SELECT count(*) FROM snaps WHERE sync_id = 1"))
  }

  /// The reader's session as the server sees it, and the `jit` setting a model then reads.
  func session(_ fixture: (scenario: Scenario, reader: any WarehouseDiffing, application: String)) throws
    -> [String?]
  {
    let server = try #require(fixture.scenario.postgres).connect()
    let state = try server.query(
      "select state from pg_stat_activity where application_name = $1", [fixture.application])
    let rows = try fixture.reader.rows(of: model, key: "k", columns: ["jit"])
    return state.map { $0[0] } + [try rows.next()?.values.first?.text]
  }

  @Test func readToTheEnd() throws {
    guard Backend.postgres.available else { return }
    let fixture = try fixture()
    let stream = try diff(fixture.reader)
    #expect(stream.snapshotRows == 21)
    var rows: [WarehouseDiffRow] = []
    while let row = try stream.next() { rows.append(row) }
    // 1…39 added, 40…50 changed (every fingerprint is stale), 51…60 removed.
    #expect(rows.count == 60 && rows.filter { $0.row == nil }.count == 10)
    #expect(Set(rows.compactMap { $0.row?.values.first?.text }) == ["off"])
    #expect(try session(fixture) == ["idle", "on"])
  }

  @Test func leftUnread() throws {
    guard Backend.postgres.available else { return }
    let fixture = try fixture()
    var stream: (any WarehouseDiffStream)? = try diff(fixture.reader)
    #expect(try stream?.next() != nil)
    stream = nil
    #expect(try session(fixture) == ["idle", "on"])
  }

  @Test func endingInAnError() throws {
    guard Backend.postgres.available else { return }
    let fixture = try fixture()
    try fixture.scenario.sql("update items set divisor = 0 where k = '7'")
    #expect(throws: SourceError.self) {
      let stream = try diff(fixture.reader)
      while try stream.next() != nil {}
    }
    #expect(try session(fixture) == ["idle", "on"])
    try fixture.scenario.sql("update items set divisor = 1")
    let stream = try diff(fixture.reader)
    while try stream.next() != nil {}
    #expect(stream.snapshotRows == 21)
  }
}
