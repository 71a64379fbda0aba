import BackflowADBC
import BackflowSources
import BackflowTestSupport
import Foundation
import Testing

/// The Spark copy of warehouse planning on the Spark Connect server `make test` starts: Spark's
/// own fingerprints, a version published by swapping a view stamped with the state store's
/// version, and a diff that returns only the rows that differ.
@Suite("Spark planning tables", .enabled(if: TestEnvironment.sparkURI != nil))
struct SparkPlanningTablesTests {
  let spark: ADBCDatabase
  let connection: ADBCConnection
  let reader: ADBCModelReader
  let tables = SparkPlanningTables(schema: "planner_\(UUID().uuidString.prefix(8).lowercased())")
  let users = "users_\(UUID().uuidString.prefix(8).lowercased())"
  static let columns = ["email", "plan"]
  static let signature = "users_to_crm v1"

  init() throws {
    let uri = try #require(TestEnvironment.sparkURI)
    spark = try database("adbc_driver_spark", [("uri", uri)])
    connection = try spark.connect()
    reader = try ADBCModelReader(database: spark, dialect: .spark, planningSchema: tables.schema)
    try connection.execute(tables.creation)
    try connection.execute("CREATE TABLE \(users) (user_id INT, email STRING, plan STRING) USING parquet")
  }

  /// Writes the model as it is now as run `run`'s version of sync 1, published at `version`.
  func publish(run: Int, version: Int) throws {
    let fingerprint = SparkPlanningTables.fingerprint(columns: Self.columns, signature: Self.signature)
    try tables.publish(
      "SELECT CAST(user_id AS STRING) AS row_key, \(fingerprint) AS fingerprint FROM \(users) WHERE user_id IS NOT NULL",
      syncID: 1, runID: run, version: version, on: connection)
  }

  /// What the reader's diff returns: first the version's count, then a changed or new row's key,
  /// `removed KEY` for an entry that left the model. A reader of its own, as each plan opens one
  /// (a Spark session keeps the files it listed, and `INSERT OVERWRITE` replaces them).
  func diff() throws -> [String] {
    let reader = try ADBCModelReader(database: spark, dialect: .spark, planningSchema: tables.schema)
    let stream = try reader.diff(
      model("SELECT * FROM \(users)", on: reader), key: "user_id", columns: Self.columns, signature: Self.signature,
      syncID: 1)
    #expect(!stream.fingerprintsAreBackflows)
    var returned = ["count \(stream.snapshotRows)"]
    while let row = try stream.next() {
      returned.append(row.row.map { $0.key ?? "NULL key" } ?? "removed \(row.entryKey ?? "")")
    }
    return returned
  }

  @Test func onlyTheRowsThatDifferLeaveSpark() throws {
    // NULL, '' and 'NULL' are three values; so are the two splits of "a,b" + "c".
    try connection.execute(
      "INSERT INTO \(users) VALUES (1, NULL, 'pro'), (2, '', 'pro'), (3, 'NULL', 'pro'), (4, 'a,b', 'c'), (5, 'a', 'b,c'),"
        + " (6, 'x', 'free')")
    try publish(run: 1, version: 3)
    let fingerprints = try connection.textRows("SELECT fingerprint FROM \(tables.name(tables.current(syncID: 1)))")
    #expect(Set(fingerprints.compactMap { $0[0] }).count == 6)
    #expect(try diff() == ["count 6"])

    // Nothing but the changed, new, repeated and NULL-key rows and the removed entry comes back.
    try connection.execute(
      "INSERT OVERWRITE \(users) VALUES (1, NULL, 'pro'), (2, NULL, 'pro'), (3, 'NULL', 'pro'), (4, 'a,b', 'c'),"
        + " (5, 'a', 'b,c'), (5, 'a', 'other'), (7, 'new', 'free'), (NULL, 'keyless', 'free')")
    #expect(try diff() == ["count 6", "NULL key", "2", "5", "5", "removed 6", "7"])
  }

  @Test func theVersionIsTheViewsStampWhileItsTableExists() throws {
    #expect(try reader.plannedSnapshotVersion(syncID: 1) == nil)
    try connection.execute("INSERT INTO \(users) VALUES (1, 'ada@example.com', 'pro')")
    try publish(run: 4, version: 7)
    #expect(try reader.plannedSnapshotVersion(syncID: 1) == WarehouseSnapshotVersion(lineage: "state-a", version: 7))

    // A newer version replaces it and drops the older table.
    try publish(run: 5, version: 8)
    #expect(try tables.version(syncID: 1, on: connection) == WarehouseSnapshotVersion(lineage: "state-a", version: 8))
    let left = try connection.textRows("SHOW TABLES IN \(tables.schema) LIKE 'snapshot_s1_r*'").compactMap { $0[1] }
    #expect(left == [tables.version(syncID: 1, runID: 5)])

    // The table under the view lost (a server that lost its catalog): no version.
    try connection.execute("DROP TABLE \(tables.name(tables.version(syncID: 1, runID: 5)))")
    #expect(try tables.version(syncID: 1, on: connection) == nil)
  }

  @Test func aNewVersionHoldsTheStagedRowsLessWhatTheRunDidNotDeliver() throws {
    try connection.execute(
      "INSERT INTO \(users) VALUES (1, 'ada@example.com', 'pro'), (2, 'grace@example.com', 'team'), (3, 'kat@example.com', 'pro'),"
        + " (5, 'ob@example.com', 'free'), (5, 'ob@example.com', 'pro'), (NULL, 'keyless@example.com', 'free')")
    let staged = tables.staging(syncName: "users_to_crm")
    for statement in tables.stage(
      model("SELECT * FROM \(users)", on: reader), key: "user_id", columns: Self.columns, used: Self.columns,
      signature: Self.signature, into: staged)
    {
      try connection.execute(statement)
    }
    // Staged again (an apply after one that stopped): the table is replaced, not appended to.
    for statement in tables.stage(
      model("SELECT * FROM \(users)", on: reader), key: "user_id", columns: Self.columns, used: Self.columns,
      signature: Self.signature, into: staged)
    {
      try connection.execute(statement)
    }
    let fingerprints = Dictionary(
      try connection.textRows("SELECT `backflow key`, `backflow fingerprint` FROM \(tables.name(staged)) WHERE `backflow key` < '4'")
        .map { ($0[0] ?? "", $0[1] ?? "") }, uniquingKeysWith: { $1 })
    #expect(fingerprints.count == 3 && Set(fingerprints.values).count == 3)

    func version(run: Int) throws -> [[String?]] {
      try connection.textRows("SELECT row_key, fingerprint FROM \(tables.name(tables.version(syncID: 1, runID: run))) ORDER BY 1")
    }
    // Every row delivered: each key once, a repeated key with the unknown fingerprint.
    try connection.execute(tables.newVersion(syncID: 1, runID: 1, staged: staged, unsent: nil))
    #expect(try version(run: 1) == [["1", fingerprints["1"]], ["2", fingerprints["2"]], ["3", fingerprints["3"]], ["5", ""]])

    // User 2's change and 4's removal failed (the state store keeps their entries), 3's addition
    // failed (it keeps none), and 9 was never in the model.
    let unsent = tables.unsent(syncName: "users_to_crm")
    for statement in tables.unsentCreation(unsent) { try connection.execute(statement) }
    try connection.execute(
      "INSERT INTO \(tables.name(unsent)) VALUES ('2', true), ('3', false), ('4', true), ('9', true)")
    try connection.execute(tables.newVersion(syncID: 1, runID: 2, staged: staged, unsent: unsent))
    #expect(try version(run: 2) == [["1", fingerprints["1"]], ["2", ""], ["4", ""], ["5", ""], ["9", ""]])
  }
}
