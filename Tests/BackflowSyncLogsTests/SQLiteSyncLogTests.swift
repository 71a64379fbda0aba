import BackflowSQLite
import BackflowSyncLogs
import BackflowTestSupport
import Foundation
import Testing

@Suite("Sync logs on SQLite")
struct SQLiteSyncLogTests {
  typealias F = SyncLogFixture

  /// A writer into `warehouse.db` in `directory`, and a connection to look at what it wrote.
  func makeWriter(in directory: URL, schema: String? = "backflow_audit") throws -> (SyncLogWriter, SQLiteDatabase) {
    let database = try SQLiteDatabase(path: directory.appendingPathComponent("warehouse.db").path)
    let writer = try F.writer(in: directory, source: "{ type: sqlite, path: warehouse.db }", schema: schema)
    return (writer, database)
  }

  @Test("the tables are {schema}_sync_runs and so on in the source's file, with the documented columns")
  func columns() throws {
    try withTemporaryDirectory { directory in
      let (writer, database) = try makeWriter(in: directory)
      try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      let columns = { (table: String) in try database.query("SELECT name, type FROM pragma_table_info($1)", [table]) }
      let counts = ["planned", "attempted", "succeeded", "failed", "aborted"].flatMap { stage in
        ["add", "change", "remove"].map { ["num_\(stage)_\($0)", "INTEGER"] }
      }
      #expect(
        try columns("backflow_audit_sync_runs")
          == [
            ["sync_id", "INTEGER"], ["sync_run_id", "INTEGER"], ["primary_key", "TEXT"], ["destination", "TEXT"],
            ["model_name", "TEXT"], ["status", "TEXT"], ["error", "TEXT"], ["started_at", "TEXT"],
            ["finished_at", "TEXT"],
          ] + counts + [["rows_queried", "INTEGER"], ["git_commit", "TEXT"], ["sync_name", "TEXT"]])
      #expect(
        try columns("backflow_audit_sync_changelog") == [
          ["sync_id", "INTEGER"], ["sync_run_id", "INTEGER"], ["op_type", "TEXT"], ["row_id", "TEXT"],
          ["status", "TEXT"], ["failed_reason", "TEXT"], ["fields", "TEXT"],
        ])
      #expect(
        try columns("backflow_audit_sync_snapshot") == [
          ["sync_id", "INTEGER"], ["op_type", "TEXT"], ["row_id", "TEXT"], ["status", "TEXT"],
          ["failed_reason", "TEXT"], ["fields", "TEXT"],
        ])
      #expect(
        try database.query("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name") == [
          ["backflow_audit_sync_changelog_row"], ["backflow_audit_sync_changelog_run"],
          ["backflow_audit_sync_runs_sync"], ["backflow_audit_sync_snapshot_sync"],
        ])
    }
  }

  @Test("without a schema the prefix is backflow_")
  func defaultPrefix() throws {
    try withTemporaryDirectory { directory in
      let (writer, database) = try makeWriter(in: directory, schema: nil)
      try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      #expect(
        try database.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
          == [["backflow_sync_changelog"], ["backflow_sync_runs"], ["backflow_sync_snapshot"]])
    }
  }

  @Test("every column holds the run's and rows' values, as integers, UTC ISO-8601 text and JSON")
  func values() throws {
    try withTemporaryDirectory { directory in
      let (writer, database) = try makeWriter(in: directory)
      let tricky = "422: \"email\"\tis\ninvalid \\ Zoë ✓"
      try writer.write(
        F.run(
          id: 42, startedAt: "2024-05-01T12:00:00+02:00", finishedAt: "2024-05-01T10:03:30.250Z", status: .failed,
          error: "2 rows failed"),
        changelog: [
          F.entry(.added, "1"), F.entry(.changed, "2", .failed, tricky), F.entry(.removed, "3"),
          F.entry(.added, nil, .failed, "primary key is NULL"), F.entry(.added, "5", .aborted),
        ],
        unchanged: [F.entry(.unchanged, "6")])

      #expect(
        try database.query("SELECT * FROM backflow_audit_sync_runs") == [
          [
            "7", "42", "user_id", "crm_db/contacts", "users", "failed", "2 rows failed", "2024-05-01T10:00:00Z",
            "2024-05-01T10:03:30.250Z", "100", "30", "20", "92", "28", "19", "80", "25", "14", "12", "3", "5", "8",
            "2", "1", "1000", "0123abc", "users_to_crm",
          ]
        ])
      #expect(
        try database.query(
          """
          SELECT typeof(sync_id), typeof(sync_run_id), typeof(num_planned_add), typeof(num_aborted_remove),
            typeof(rows_queried), typeof(started_at), typeof(error)
          FROM backflow_audit_sync_runs
          """) == [["integer", "integer", "integer", "integer", "integer", "text", "text"]])
      #expect(
        try database.query(
          """
          SELECT sync_id, sync_run_id, op_type, row_id, status, failed_reason, json_extract(fields, '$.user_id'),
            json_extract(fields, '$.email'), json_extract(fields, '$.score'), json_type(fields), typeof(sync_id)
          FROM backflow_audit_sync_changelog ORDER BY row_id IS NULL, row_id
          """) == [
            ["7", "42", "added", "1", "succeeded", nil, "1", "1@example.com", "10", "object", "integer"],
            ["7", "42", "changed", "2", "failed", tricky, "2", "2@example.com", "10", "object", "integer"],
            ["7", "42", "removed", "3", "succeeded", nil, "3", nil, nil, "object", "integer"],
            ["7", "42", "added", "5", "aborted", nil, "5", "5@example.com", "10", "object", "integer"],
            [
              "7", "42", "added", nil, "failed", "primary key is NULL", nil, "nokey@example.com", "0", "object",
              "integer",
            ],
          ])
      #expect(
        try database.query(
          """
          SELECT sync_id, op_type, row_id, status, failed_reason, json_extract(fields, '$.email')
          FROM backflow_audit_sync_snapshot ORDER BY row_id IS NULL, row_id
          """) == [
            ["7", "added", "1", "succeeded", nil, "1@example.com"],
            ["7", "changed", "2", "failed", tricky, "2@example.com"],
            ["7", "added", "5", "aborted", nil, "5@example.com"],
            ["7", "unchanged", "6", "succeeded", nil, "6@example.com"],
            ["7", "added", nil, "failed", "primary key is NULL", "nokey@example.com"],
          ])

      // A model on the same file JOINs the logs without ATTACH.
      try database.execute(
        "CREATE TABLE users (user_id TEXT PRIMARY KEY); INSERT INTO users VALUES ('1'), ('2'), ('5'), ('6'), ('7')")
      #expect(
        try database.query(
          """
          SELECT users.user_id FROM users
          LEFT JOIN backflow_audit_sync_snapshot AS snapshot ON snapshot.sync_id = 7 AND snapshot.row_id = users.user_id
          WHERE snapshot.status IS NOT 'failed' ORDER BY users.user_id
          """) == [["1"], ["5"], ["6"], ["7"]])
    }
  }

  @Test("each run replaces its sync's snapshot across many statements and leaves other syncs' rows alone")
  func snapshotPerSync() throws {
    try withTemporaryDirectory { directory in
      let (writer, database) = try makeWriter(in: directory)
      try writer.write(
        F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"),
        changelog: [F.entry(.added, "1"), F.entry(.added, "2"), F.entry(.added, "3")])
      try writer.write(
        F.run(id: 2, syncID: 8, startedAt: "2024-05-01T10:01:00Z", syncName: "accounts_to_api"),
        changelog: [F.entry(.added, "a1")], unchanged: F.unchanged(3, prefix: "a-"))
      // 251 and 601 rows: full statements of 250 and a partial one.
      let added = (0..<249).map { F.entry(.added, "n\($0)") }
      try writer.write(
        F.run(id: 3, startedAt: "2024-05-02T10:00:00Z"),
        changelog: [F.entry(.removed, "2"), F.entry(.changed, "3", .failed, "429")] + added,
        unchanged: [F.entry(.unchanged, "1")] + F.unchanged(600))

      let snapshot = { (syncID: String) in
        try database.query(
          """
          SELECT op_type, status, count(*), min(row_id) FROM backflow_audit_sync_snapshot
          WHERE sync_id = $1 GROUP BY op_type, status ORDER BY op_type, status
          """, [syncID])
      }
      #expect(
        try snapshot("7") == [
          ["added", "succeeded", "249", "n0"], ["changed", "failed", "1", "3"], ["unchanged", "succeeded", "601", "1"],
        ])
      #expect(try snapshot("8") == [["added", "succeeded", "1", "a1"], ["unchanged", "succeeded", "3", "a-0"]])
      #expect(
        try database.query("SELECT sync_run_id, count(*) FROM backflow_audit_sync_changelog GROUP BY 1 ORDER BY 1")
          == [["1", "3"], ["2", "1"], ["3", "251"]])
      #expect(
        try database.query("SELECT count(DISTINCT row_id) FROM backflow_audit_sync_snapshot WHERE sync_id = 7") == [
          ["851"]
        ])
    }
  }

  @Test("a table without a column is refused by name and the earlier runs stay as they were")
  func refusesMismatchedTable() throws {
    try withTemporaryDirectory { directory in
      let (writer, database) = try makeWriter(in: directory)
      try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      try database.execute("ALTER TABLE backflow_audit_sync_changelog RENAME COLUMN failed_reason TO reason")
      let next = try F.writer(in: directory, source: "{ type: sqlite, path: warehouse.db }")
      let error = #expect(throws: SyncLogError.self) {
        try next.write(F.run(id: 2, startedAt: "2024-05-02T10:00:00Z"), changelog: [F.entry(.added, "2")])
      }
      #expect(
        error?.message
          == "could not write the sync logs of run 2 (sync users_to_crm) to source \"warehouse\", tables backflow_audit_sync_*: "
          + "the existing table backflow_audit_sync_changelog has no column \"failed_reason\"; drop or rename it so "
          + "Backflow can create it, or set sync_logs.schema to another prefix")
      #expect(try database.query("SELECT sync_run_id FROM backflow_audit_sync_runs") == [["1"]])
      #expect(try database.query("SELECT row_id FROM backflow_audit_sync_snapshot") == [["1"]])
    }
  }

  @Test("a write that fails after full statements keeps none of its rows; the next write works")
  func rollsBack() throws {
    try withTemporaryDirectory { directory in
      let (writer, database) = try makeWriter(in: directory)
      try writer.write(
        F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1"), F.entry(.added, "2")])
      var sent = 0
      let error = #expect(throws: SyncLogError.self) {
        try writer.write(
          F.run(id: 2, startedAt: "2024-05-02T10:00:00Z"), changelog: { nil },
          unchanged: {
            sent += 1
            if sent > 600 { throw ReadFailure() }
            return F.entry(.unchanged, "u\(sent)")
          })
      }
      #expect(
        error?.message
          == "could not write the sync logs of run 2 (sync users_to_crm) to source \"warehouse\", tables backflow_audit_sync_*: "
          + "could not read the run's rows: the changelog file is truncated")
      #expect(try database.query("SELECT sync_run_id FROM backflow_audit_sync_runs") == [["1"]])
      #expect(try database.query("SELECT row_id FROM backflow_audit_sync_snapshot ORDER BY row_id") == [["1"], ["2"]])

      try writer.write(
        F.run(id: 3, startedAt: "2024-05-03T10:00:00Z"), changelog: [F.entry(.removed, "1")],
        unchanged: [F.entry(.unchanged, "2")])
      #expect(try database.query("SELECT op_type, row_id FROM backflow_audit_sync_snapshot") == [["unchanged", "2"]])
      #expect(try database.query("SELECT sync_run_id FROM backflow_audit_sync_runs ORDER BY 1") == [["1"], ["3"]])
    }
  }

  @Test("a missing database file is an error naming the source, and is not created")
  func missingFile() throws {
    try withTemporaryDirectory { directory in
      let writer = try F.writer(in: directory, source: "{ type: sqlite, path: nowhere/warehouse.db }")
      let error = #expect(throws: SyncLogError.self) {
        try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [])
      }
      #expect(
        error?.message
          == "could not write the sync logs of run 1 (sync users_to_crm) to source \"warehouse\", tables backflow_audit_sync_*: "
          + "the SQLite database nowhere/warehouse.db does not exist")
      #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("nowhere").path))
    }
  }
}
