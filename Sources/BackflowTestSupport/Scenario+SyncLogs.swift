import Foundation

extension Scenario {
  /// Turns on warehouse sync logs into the scenario's warehouse.
  public func enableSyncLogs(schema: String = "backflow_audit") throws {
    let url = directory.appendingPathComponent("backflow.yaml")
    let text = try String(contentsOf: url, encoding: .utf8)
    write(["backflow.yaml": text + "sync_logs: { source: warehouse, schema: \(schema) }\n"])
  }

  /// The rows of a query on one sync-log table (`sync_runs`, `sync_changelog`, `sync_snapshot`),
  /// named `{table}` in `query`, as text; JSON as the warehouse prints it.
  public func logRows(_ query: String, table: String, schema: String = "backflow_audit") throws -> [[String?]] {
    if let postgres {
      return try postgres.connect().query(query.replacing("{table}", with: "\(schema).\(table)"))
    }
    return try sqlRows(query.replacing("{table}", with: "\(schema)_\(table)"))
  }
}
