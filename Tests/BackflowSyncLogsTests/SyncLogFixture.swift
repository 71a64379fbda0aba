import BackflowConfig
import BackflowConnectors
import BackflowState
import BackflowSyncLogs
import BackflowTestSupport
import Foundation
import Testing

/// Projects, runs and rows for sync log tests.
enum SyncLogFixture {
  /// Writes a `backflow.yaml` whose one source, `warehouse`, is `source` (a YAML flow mapping) and
  /// receives the sync logs, loads it as `apply` would, and returns a writer for it.
  static func writer(
    in directory: URL, source: String, schema: String? = "backflow_audit",
    environment: [String: String] = [:]
  ) throws -> SyncLogWriter {
    let schemaLine = schema.map { "\n  schema: \($0)" } ?? ""
    let projectFile = """
      version: 1
      sources:
        warehouse: \(source)
      destinations:
        local: { type: sqlite, path: crm.db }
      sync_logs:
        source: warehouse\(schemaLine)

      """
    ProjectFixture.write(["backflow.yaml": projectFile], into: directory, over: [:])
    let loaded = ProjectLoader(directory: directory, environment: environment).load()
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    let logs = try #require(loaded.project.syncLogs)
    return try ConnectorRegistry.standard.syncLogWriter(logs: logs, project: loaded.project, directory: directory)
  }

  /// A run of sync `syncID` whose counts are all different, so a count in the wrong column shows.
  static func run(
    id: Int, syncID: Int = 7, startedAt: String, finishedAt: String? = nil,
    status: RunRecord.Status = .succeeded, error: String? = nil, syncName: String = "users_to_crm",
    destination: String = "crm_db/contacts", modelName: String = "users"
  ) -> SyncLogRun {
    let record = RunRecord(
      id: id, syncID: syncID, status: status, error: error, startedAt: startedAt,
      finishedAt: finishedAt, gitCommit: "0123abc", rowsQueried: 1000,
      planned: OperationCounts(add: 100, change: 30, remove: 20),
      attempted: OperationCounts(add: 92, change: 28, remove: 19),
      succeeded: OperationCounts(add: 80, change: 25, remove: 14),
      failed: OperationCounts(add: 12, change: 3, remove: 5),
      aborted: OperationCounts(add: 8, change: 2, remove: 1))
    return SyncLogRun(
      run: record, syncName: syncName, primaryKey: "user_id", destination: destination, modelName: modelName)
  }

  /// A row; its fields are a small user object, or for a removal only its key, as the engine
  /// writes them.
  static func entry(
    _ opType: SyncLogEntry.OpType, _ rowID: String?, _ status: SyncLogEntry.Status = .succeeded,
    _ reason: String? = nil
  ) -> SyncLogEntry {
    let key = rowID.map { "\"\($0)\"" } ?? "null"
    let fields =
      opType == .removed
      ? "{\"user_id\":\(key)}"
      : "{\"user_id\":\(key),\"email\":\"\(rowID ?? "nokey")@example.com\",\"score\":\((rowID?.count ?? 0) * 10)}"
    return SyncLogEntry(opType: opType, rowID: rowID, status: status, failedReason: reason, fields: fields)
  }

  /// `count` unchanged rows with keys `prefix0`, `prefix1`…
  static func unchanged(_ count: Int, prefix: String = "u") -> [SyncLogEntry] {
    (0..<count).map { entry(.unchanged, "\(prefix)\($0)") }
  }
}

/// A failure the engine's row readers might throw.
struct ReadFailure: Error, CustomStringConvertible {
  var description: String { "the changelog file is truncated" }
}

extension SyncLogWriter {
  /// Writes `run` with rows from arrays, handed out one at a time as the engine does.
  func write(_ run: SyncLogRun, changelog: [SyncLogEntry], unchanged: [SyncLogEntry] = []) throws {
    var changes = changelog.makeIterator()
    var rest = unchanged.makeIterator()
    try write(run, changelog: { changes.next() }, unchanged: { rest.next() })
  }
}
