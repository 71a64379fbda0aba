import BackflowADBC
import BackflowConfig
import BackflowSources
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

@testable import BackflowPlanner

/// Spark's planning diff, whose fingerprints are Spark's own, classified with Backflow's
/// fingerprints and the state store's entries: the same comparisons `RowDiff` makes over every
/// row, less unchanged rows Spark kept, on the Spark Connect server `make test` starts.
@Suite("Spark warehouse row diff", .enabled(if: TestEnvironment.sparkURI != nil))
struct SparkWarehouseRowDiffTests {
  let spark: ADBCDatabase
  let connection: ADBCConnection
  let tables = SparkPlanningTables(schema: "planner_\(UUID().uuidString.prefix(8).lowercased())")
  let users = "users_\(UUID().uuidString.prefix(8).lowercased())"
  let fingerprint = Fingerprint(signature: "users_to_crm v1")
  static let columns = ["email", "plan"]

  init() throws {
    let uri = try #require(TestEnvironment.sparkURI)
    spark = try ADBCDatabase(
      driver: ADBCDriver.load(path: ADBCTestDrivers.library("adbc_driver_spark")), options: [("uri", uri)],
      redact: { $0 })
    connection = try spark.connect()
    try connection.execute(tables.creation)
    try connection.execute("CREATE TABLE \(users) (user_id INT, email STRING, plan STRING) USING parquet")
  }

  func reader() throws -> ADBCModelReader {
    try ADBCModelReader(database: spark, dialect: .spark, planningSchema: tables.schema)
  }

  func model(_ reader: ADBCModelReader) -> ModelSQL {
    reader.sql(of: .query(Located("SELECT * FROM \(users)", at: SourceLocation(file: "m.yaml", line: 1, column: 1))))
  }

  /// The model's rows now, fingerprinted by Backflow, in key order.
  func rows() throws -> [FingerprintedRow] {
    let reader = try reader()
    let stream = try reader.rows(of: model(reader), key: "user_id", columns: Self.columns)
    var rows: [FingerprintedRow] = []
    while let row = try stream.next() {
      rows.append(FingerprintedRow(key: row.key, fingerprint: fingerprint.of(row.values), values: row.values))
    }
    return rows
  }

  @Test func sparksOwnFingerprintsPlanAsTheDiffInBackflow() throws {
    try connection.execute(
      "INSERT INTO \(users) VALUES (1, 'ada@example.com', 'pro'), (2, 'grace@example.com', 'free'), (3, 'kat@example.com', 'pro'),"
        + " (4, 'lin@example.com', 'team'), (5, 'ob@example.com', 'free')")
    // The state store's snapshot is the model now; the copy too, but with user 4's values unknown.
    let snapshot = try rows().map { SnapshotEntry(key: $0.key ?? "", fingerprint: $0.fingerprint, matchValue: "m\($0.key ?? "")") }
    let spark = SparkPlanningTables.fingerprint(columns: Self.columns, signature: fingerprint.signature)
    try tables.publish(
      "SELECT CAST(user_id AS STRING) AS row_key, IF(user_id = 4, '', \(spark)) AS fingerprint FROM \(users)", syncID: 1,
      runID: 1, version: 1, on: connection)

    // A change, a departure, a newcomer, a repeated key and a NULL key.
    try connection.execute(
      "INSERT OVERWRITE \(users) VALUES (1, 'ada@example.com', 'pro'), (2, 'grace@example.com', 'team'),"
        + " (4, 'lin@example.com', 'team'), (5, 'ob@example.com', 'free'), (5, 'ob@example.com', 'pro'),"
        + " (6, 'joan@example.com', 'free'), (NULL, 'keyless@example.com', 'free')")
    var rowIterator = try rows().makeIterator()
    var entryIterator = snapshot.makeIterator()
    let inBackflow = RowDiff(rows: { rowIterator.next() }, snapshot: { entryIterator.next() })
    var expected: [RowComparison] = []
    while let next = try inBackflow.next() { expected.append(next) }

    // Windows of one, two and three rows split user 5's repeats and the departure across
    // look-ups; the default reads everything in one.
    let entries = Dictionary(uniqueKeysWithValues: snapshot.map { ($0.key, $0) })
    for window in [1, 2, 3, 1_000] {
      let stream = try reader().diff(
        model(reader()), key: "user_id", columns: Self.columns, signature: fingerprint.signature, syncID: 1)
      var lookups = 0
      let inSpark = WarehouseRowDiff(stream: stream, fingerprint: fingerprint, window: window) { keys in
        lookups += 1
        return entries.filter { keys.contains($0.key) }
      }
      var planned: [RowComparison] = []
      while let next = try inSpark.next() { planned.append(next) }

      // Only user 1 stayed in Spark; user 4's unknown fingerprint brought it out, and Backflow
      // found it unchanged.
      #expect(planned.contains { if case let .unchanged(row) = $0 { row.key == "4" } else { false } })
      #expect(stream.snapshotRows == 5)
      #expect(
        planned == expected.filter { if case let .unchanged(row) = $0 { row.key != "1" } else { true } },
        "window \(window): \(planned)")
      // One state store query per window of returned rows.
      #expect(window == 1_000 ? lookups == 1 : lookups > 2, "window \(window): \(lookups) look-ups")
    }
  }
}
