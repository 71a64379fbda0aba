import BackflowConfig
import BackflowConnectors
import BackflowSQLite
import BackflowSyncLogs
import BackflowTestSupport
import Foundation
import Testing

@Suite("SyncLogWriter")
struct SyncLogWriterTests {
  typealias F = SyncLogFixture

  @Test("a sync_logs.source that names no source is refused when the writer is made")
  func unknownSource() throws {
    try withTemporaryDirectory { directory in
      ProjectFixture.write(
        [
          "backflow.yaml": """
          version: 1
          sources:
            warehouse: { type: sqlite, path: warehouse.db }
          sync_logs: { source: warehous }

          """
        ], into: directory, over: [:])
      let project = ProjectLoader(directory: directory).load().project
      let logs = try #require(project.syncLogs)
      let error = #expect(throws: SyncLogError.self) {
        try ConnectorRegistry.standard.syncLogWriter(logs: logs, project: project, directory: directory)
      }
      #expect(error?.message == "sync_logs.source \"warehous\" is not one of the sources in backflow.yaml")
    }
  }

  @Test("the changelog takes added, changed and removed rows; an unchanged one is refused")
  func unchangedInChangelog() throws {
    try withTemporaryDirectory { directory in
      _ = try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path)
      let writer = try F.writer(in: directory, source: "{ type: sqlite, path: warehouse.db }")
      let error = #expect(throws: SyncLogError.self) {
        try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.unchanged, "1")])
      }
      #expect(
        error?.message.hasSuffix(
          "the changelog holds an unchanged row (1); it takes added, changed and removed ones") == true)
    }
  }

  @Test("a start time that is not ISO-8601 is refused with the value")
  func badTime() throws {
    try withTemporaryDirectory { directory in
      _ = try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path)
      let writer = try F.writer(in: directory, source: "{ type: sqlite, path: warehouse.db }")
      let error = #expect(throws: SyncLogError.self) {
        try writer.write(F.run(id: 1, startedAt: "yesterday"), changelog: [])
      }
      #expect(error?.message.hasSuffix("the run's started_at \"yesterday\" is not an ISO-8601 time") == true)
    }
  }
}
