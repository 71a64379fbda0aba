import BackflowADBC
import BackflowSources

extension SparkPlanningTables {
  /// Writes the rows of `select` (row_key, fingerprint) as run `runID`'s version of sync
  /// `syncID`'s copy and publishes it at `version` of state `state-a`, as a run would.
  public func publish(_ select: String, syncID: Int, runID: Int, version: Int, on connection: ADBCConnection) throws {
    let table = self.version(syncID: syncID, runID: runID)
    try connection.execute("CREATE TABLE \(name(table)) USING parquet AS \(select)")
    try publish(table, syncID: syncID, at: WarehouseSnapshotVersion(lineage: "state-a", version: version), on: connection)
  }
}
