import BackflowADBC
import BackflowSources
import BackflowSyncLogs

/// Warehouse planning's copies in a Spark schema, computed there after each run from the model
/// apply staged; on a connection of their own, as Spark takes SQL text only, the unsent keys are
/// written as literals.
final class SparkPlanningSnapshots: ComputedPlanningSnapshots {
  private let connection: ADBCConnection
  private let tables: SparkPlanningTables
  /// Rows per statement, as sync logs write them.
  private static let rowsPerStatement = 250

  init(database: ADBCDatabase, schema: String) throws {
    tables = SparkPlanningTables(schema: schema)
    connection = try database.connect()
  }

  var location: String { "schema \(tables.schema)" }

  func publish(
    syncID: Int, syncName: String, runID: Int, unsent: [String: Bool], at version: WarehouseSnapshotVersion,
    keepingStage: Bool
  ) throws {
    let staged = tables.staging(syncName: syncName)
    var unsentTable: String?
    if !unsent.isEmpty {
      let table = tables.unsent(syncName: syncName)
      for statement in tables.unsentCreation(table) { try connection.execute(statement) }
      var keys = unsent.sorted { $0.key < $1.key }.makeIterator()
      try insertValues(on: connection, into: tables.name(table), perStatement: Self.rowsPerStatement) {
        keys.next().map { "(\(ADBCDialect.spark.literal($0.key)), \($0.value))" }
      }
      unsentTable = table
    }
    let table = tables.version(syncID: syncID, runID: runID)
    try connection.execute(tables.newVersion(syncID: syncID, runID: runID, staged: staged, unsent: unsentTable))
    try tables.publish(table, syncID: syncID, at: version, on: connection)
    for leftover in (keepingStage ? [] : [staged]) + (unsentTable.map { [$0] } ?? []) {
      try connection.execute("DROP TABLE IF EXISTS \(tables.name(leftover))")
    }
  }
}
