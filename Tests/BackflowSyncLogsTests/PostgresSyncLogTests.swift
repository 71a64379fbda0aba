import BackflowPostgres
import BackflowSyncLogs
import BackflowTestSupport
import Foundation
import Testing

// Serialized: each test creates a database, and the test server takes 50 connections in all.
@Suite("Sync logs on PostgreSQL", .serialized, .enabled(if: TestEnvironment.postgresURL != nil))
struct PostgresSyncLogTests {
  typealias F = SyncLogFixture

  /// A writer into a new database, its URL read from the environment as a secret, and a
  /// connection to look at what it wrote (times shown in UTC).
  func makeWriter(_ label: String, in directory: URL) throws -> (SyncLogWriter, PostgresConnection, PostgresDatabase) {
    let database = try PostgresDatabase.create(label)
    let writer = try F.writer(
      in: directory, source: "{ type: postgres, url: \"${LOGS_URL}\" }",
      environment: ["LOGS_URL": database.conninfo])
    let connection = try database.connect()
    try connection.execute("SET TIME ZONE 'UTC'")
    return (writer, connection, database)
  }

  func columns(_ table: String, _ connection: PostgresConnection) throws -> [[String?]] {
    try connection.query(
      """
      SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'backflow_audit' AND table_name = $1 ORDER BY ordinal_position
      """, [table])
  }

  static let counts = ["planned", "attempted", "succeeded", "failed"].flatMap { stage in
    ["add", "change", "remove"].map { "num_\(stage)_\($0)" }
  }

  @Test("the three tables have the documented columns, in order, with PostgreSQL's types")
  func columnsAndTypes() throws {
    try withTemporaryDirectory { directory in
      let (writer, connection, _) = try makeWriter("logs_columns", in: directory)
      try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      let time = "timestamp with time zone"
      let runs =
        [
          ["sync_id", "bigint"], ["sync_run_id", "bigint"], ["primary_key", "text"], ["destination", "text"],
          ["model_name", "text"], ["status", "text"], ["error", "text"], ["started_at", time],
          ["finished_at", time],
        ] + Self.counts.map { [$0, "bigint"] }
        + [
          ["num_aborted_add", "bigint"], ["num_aborted_change", "bigint"], ["num_aborted_remove", "bigint"],
          ["rows_queried", "bigint"], ["git_commit", "text"], ["sync_name", "text"],
        ]
      #expect(try columns("sync_runs", connection) == runs)
      #expect(
        try columns("sync_changelog", connection) == [
          ["sync_id", "bigint"], ["sync_run_id", "bigint"], ["op_type", "text"], ["row_id", "text"],
          ["status", "text"], ["failed_reason", "text"], ["fields", "jsonb"],
        ])
      #expect(
        try columns("sync_snapshot", connection) == [
          ["sync_id", "bigint"], ["op_type", "text"], ["row_id", "text"], ["status", "text"],
          ["failed_reason", "text"], ["fields", "jsonb"],
        ])
      let indexes = try connection.query(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'backflow_audit' ORDER BY indexname")
      #expect(
        indexes == [["sync_changelog_row"], ["sync_changelog_run"], ["sync_runs_sync"], ["sync_snapshot_sync"]])
    }
  }

  @Test("every column of every table holds what the run and its rows said")
  func values() throws {
    try withTemporaryDirectory { directory in
      let (writer, connection, _) = try makeWriter("logs_values", in: directory)
      let tricky = "422: \"email\"\tis\ninvalid \\ Zoë ✓"
      let run = F.run(
        id: 42, startedAt: "2024-05-01T12:00:00+02:00", finishedAt: "2024-05-01T10:03:30.250Z", status: .failed,
        error: "2 rows failed")
      try writer.write(
        run,
        changelog: [
          F.entry(.added, "1"), F.entry(.changed, "2", .failed, tricky), F.entry(.removed, "3"),
          F.entry(.added, nil, .failed, "primary key is NULL"), F.entry(.added, "5", .aborted),
        ],
        unchanged: [F.entry(.unchanged, "6")])

      let runs = try connection.query("SELECT * FROM backflow_audit.sync_runs")
      #expect(
        runs == [
          [
            "7", "42", "user_id", "crm_db/contacts", "users", "failed", "2 rows failed",
            "2024-05-01 10:00:00+00", "2024-05-01 10:03:30.25+00",
            "100", "30", "20", "92", "28", "19", "80", "25", "14", "12", "3", "5", "8", "2", "1",
            "1000", "0123abc", "users_to_crm",
          ]
        ])
      let changelog = try connection.query(
        """
        SELECT sync_id, sync_run_id, op_type, row_id, status, failed_reason, fields->>'user_id',
          fields->>'email', (fields->'score')::int, jsonb_typeof(fields)
        FROM backflow_audit.sync_changelog ORDER BY row_id NULLS LAST
        """)
      #expect(
        changelog == [
          ["7", "42", "added", "1", "succeeded", nil, "1", "1@example.com", "10", "object"],
          ["7", "42", "changed", "2", "failed", tricky, "2", "2@example.com", "10", "object"],
          ["7", "42", "removed", "3", "succeeded", nil, "3", nil, nil, "object"],
          ["7", "42", "added", "5", "aborted", nil, "5", "5@example.com", "10", "object"],
          ["7", "42", "added", nil, "failed", "primary key is NULL", nil, "nokey@example.com", "0", "object"],
        ])
      // Removed rows are in the changelog only; unchanged ones in the snapshot only.
      let snapshot = try connection.query(
        """
        SELECT sync_id, op_type, row_id, status, failed_reason, fields->>'email'
        FROM backflow_audit.sync_snapshot ORDER BY row_id NULLS LAST
        """)
      #expect(
        snapshot == [
          ["7", "added", "1", "succeeded", nil, "1@example.com"],
          ["7", "changed", "2", "failed", tricky, "2@example.com"],
          ["7", "added", "5", "aborted", nil, "5@example.com"],
          ["7", "unchanged", "6", "succeeded", nil, "6@example.com"],
          ["7", "added", nil, "failed", "primary key is NULL", "nokey@example.com"],
        ])
      #expect(
        try connection.query(
          "SELECT row_id FROM backflow_audit.sync_snapshot WHERE fields @> '{\"email\": \"6@example.com\"}'")
          == [["6"]])
    }
  }

  @Test("each run replaces its sync's snapshot and leaves other syncs' rows alone")
  func snapshotPerSync() throws {
    try withTemporaryDirectory { directory in
      let (writer, connection, _) = try makeWriter("logs_snapshot", in: directory)
      try writer.write(
        F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"),
        changelog: [F.entry(.added, "1"), F.entry(.added, "2"), F.entry(.added, "3")])
      try writer.write(
        F.run(id: 2, syncID: 8, startedAt: "2024-05-01T10:01:00Z", syncName: "accounts_to_api"),
        changelog: [F.entry(.added, "a1")], unchanged: F.unchanged(3, prefix: "a-"))
      try writer.write(
        F.run(id: 3, startedAt: "2024-05-02T10:00:00Z"),
        changelog: [F.entry(.removed, "2"), F.entry(.changed, "3", .failed, "429"), F.entry(.added, "4")],
        unchanged: [F.entry(.unchanged, "1")] + F.unchanged(20_000))

      let snapshot = { (syncID: String) in
        try connection.query(
          """
          SELECT op_type, status, count(*)::text, min(row_id) FROM backflow_audit.sync_snapshot
          WHERE sync_id = $1 GROUP BY op_type, status ORDER BY op_type, status
          """, [syncID])
      }
      #expect(
        try snapshot("7") == [
          ["added", "succeeded", "1", "4"], ["changed", "failed", "1", "3"], ["unchanged", "succeeded", "20001", "1"],
        ])
      #expect(try snapshot("8") == [["added", "succeeded", "1", "a1"], ["unchanged", "succeeded", "3", "a-0"]])
      #expect(
        try connection.query(
          "SELECT sync_run_id, count(*)::text FROM backflow_audit.sync_changelog GROUP BY 1 ORDER BY 1")
          == [["1", "3"], ["2", "1"], ["3", "3"]])
      #expect(
        try connection.query("SELECT sync_run_id FROM backflow_audit.sync_runs ORDER BY 1") == [["1"], ["2"], ["3"]])
    }
  }

  @Test("a table that lacks a column or has another type is refused by name; nothing is written")
  func refusesMismatchedTable() throws {
    try withTemporaryDirectory { directory in
      let (writer, connection, database) = try makeWriter("logs_mismatch", in: directory)
      try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      try connection.execute("ALTER TABLE backflow_audit.sync_snapshot RENAME COLUMN fields TO payload")

      // A new writer checks the tables again, as the next apply does.
      let next = try F.writer(
        in: directory, source: "{ type: postgres, url: \"${LOGS_URL}\" }",
        environment: ["LOGS_URL": database.conninfo])
      let missing = #expect(throws: SyncLogError.self) {
        try next.write(F.run(id: 2, startedAt: "2024-05-02T10:00:00Z"), changelog: [F.entry(.added, "2")])
      }
      #expect(
        missing?.message
          == "could not write the sync logs of run 2 (sync users_to_crm) to source \"warehouse\", schema backflow_audit: "
          + "the existing table backflow_audit.sync_snapshot has no column \"fields\"; drop or rename it so Backflow "
          + "can create it, or set sync_logs.schema to another schema")

      try connection.execute(
        "ALTER TABLE backflow_audit.sync_snapshot RENAME COLUMN payload TO fields; "
          + "ALTER TABLE backflow_audit.sync_snapshot ALTER COLUMN fields TYPE text")
      let retyped = #expect(throws: SyncLogError.self) {
        try next.write(F.run(id: 2, startedAt: "2024-05-02T10:00:00Z"), changelog: [F.entry(.added, "2")])
      }
      #expect(
        retyped?.message.contains(
          "the existing table backflow_audit.sync_snapshot has column \"fields\" of type text, but sync logs write jsonb there"
        )
          == true)
      #expect(try connection.query("SELECT sync_run_id FROM backflow_audit.sync_runs") == [["1"]])
      #expect(try connection.query("SELECT sync_run_id, row_id FROM backflow_audit.sync_changelog") == [["1", "1"]])
    }
  }

  @Test("a pre-existing table without a column stops the first write before any table is created")
  func refusesBeforeCreating() throws {
    try withTemporaryDirectory { directory in
      let (writer, connection, _) = try makeWriter("logs_foreign", in: directory)
      try connection.execute(
        "CREATE SCHEMA backflow_audit; CREATE TABLE backflow_audit.sync_changelog (sync_id bigint, row_id text)")
      let error = #expect(throws: SyncLogError.self) {
        try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      }
      #expect(
        error?.message.hasSuffix(
          "the existing table backflow_audit.sync_changelog has no columns \"sync_run_id\", \"op_type\", \"status\", "
            + "\"failed_reason\", \"fields\"; drop or rename it so Backflow can create it, or set sync_logs.schema to another schema"
        )
          == true)
      #expect(
        try connection.query(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'backflow_audit'")
          == [["sync_changelog"]])
    }
  }

  @Test("a write that fails midway keeps none of its rows and the earlier ones; the next write works")
  func rollsBack() throws {
    try withTemporaryDirectory { directory in
      let (writer, connection, _) = try makeWriter("logs_rollback", in: directory)
      try writer.write(
        F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1"), F.entry(.added, "2")])
      let before = try connection.query("SELECT op_type, row_id FROM backflow_audit.sync_snapshot ORDER BY row_id")

      // The server refuses a value once the COPY has taken thousands of rows.
      var bad = F.unchanged(5_000)
      bad.append(SyncLogEntry(opType: .unchanged, rowID: "x", status: .succeeded, fields: "{not json"))
      let refused = #expect(throws: SyncLogError.self) {
        try writer.write(
          F.run(id: 2, startedAt: "2024-05-02T10:00:00Z"), changelog: [F.entry(.removed, "1")], unchanged: bad)
      }
      #expect(refused?.message.contains("could not write rows into backflow_audit.sync_snapshot: ERROR:") == true)
      #expect(refused?.message.contains("invalid input syntax for type json") == true)

      // The engine's reader fails after some changelog rows were sent.
      var sent = 0
      let unreadable = #expect(throws: SyncLogError.self) {
        try writer.write(
          F.run(id: 3, startedAt: "2024-05-03T10:00:00Z"),
          changelog: {
            sent += 1
            if sent > 3_000 { throw ReadFailure() }
            return F.entry(.added, "n\(sent)")
          }, unchanged: { nil })
      }
      #expect(
        unreadable?.message
          == "could not write the sync logs of run 3 (sync users_to_crm) to source \"warehouse\", schema backflow_audit: "
          + "could not read the run's rows: the changelog file is truncated")

      #expect(try connection.query("SELECT sync_run_id FROM backflow_audit.sync_runs") == [["1"]])
      #expect(try connection.query("SELECT count(*) FROM backflow_audit.sync_changelog") == [["2"]])
      #expect(
        try connection.query("SELECT op_type, row_id FROM backflow_audit.sync_snapshot ORDER BY row_id") == before)

      try writer.write(F.run(id: 4, startedAt: "2024-05-04T10:00:00Z"), changelog: [F.entry(.removed, "1")])
      #expect(try connection.query("SELECT row_id FROM backflow_audit.sync_snapshot") == [])
      #expect(try connection.query("SELECT sync_run_id FROM backflow_audit.sync_runs ORDER BY 1") == [["1"], ["4"]])
    }
  }

  @Test("an unreachable source fails with the source and schema named, never its secret URL")
  func unreachableHidesSecret() throws {
    try withTemporaryDirectory { directory in
      for url in [
        "postgresql://backflow:hunter2-secret@127.0.0.1:1/analytics",
        "postgresql://backflow:hunter2-secret@[127.0.0.1/analytics",
        "host=127.0.0.1 port=1 password=hunter2-secret dbname=analytics",
      ] {
        let writer = try F.writer(
          in: directory, source: "{ type: postgres, url: \"${LOGS_URL}\" }", environment: ["LOGS_URL": url])
        let error = #expect(throws: SyncLogError.self) {
          try writer.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
        }
        let message = try #require(error?.message)
        #expect(
          message.hasPrefix(
            "could not write the sync logs of run 1 (sync users_to_crm) to source \"warehouse\", schema backflow_audit: could not connect: "
          ), "\(message)")
        #expect(!message.contains("hunter2"), "\(message)")
        #expect(!message.contains(url))
      }
    }
  }

  @Test("a role without CREATE is refused with the database's message; with tables made for it, it writes")
  func permissions() throws {
    try withTemporaryDirectory { directory in
      let (admin, connection, database) = try makeWriter("logs_roles", in: directory)
      let role = "bf_logs_\(UUID().uuidString.prefix(8).lowercased())"
      try connection.execute("CREATE ROLE \(role) LOGIN")
      defer { try? connection.execute("DROP OWNED BY \(role); DROP ROLE \(role)") }
      let environment = ["LOGS_URL": "\(database.conninfo) user=\(role)"]
      let source = "{ type: postgres, url: \"${LOGS_URL}\" }"

      let limited = try F.writer(in: directory, source: source, environment: environment)
      let error = #expect(throws: SyncLogError.self) {
        try limited.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      }
      #expect(
        error?.message
          == "could not write the sync logs of run 1 (sync users_to_crm) to source \"warehouse\", schema backflow_audit: "
          + "could not create the sync log tables in schema backflow_audit: ERROR:  permission denied for database "
          + "\(database.name) (SQLSTATE 42501)")

      // An administrator creates the tables and grants only what writing rows needs.
      try admin.write(F.run(id: 1, startedAt: "2024-05-01T10:00:00Z"), changelog: [F.entry(.added, "1")])
      try connection.execute(
        "GRANT USAGE ON SCHEMA backflow_audit TO \(role); "
          + "GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA backflow_audit TO \(role)")
      let granted = try F.writer(in: directory, source: source, environment: environment)
      try granted.write(
        F.run(id: 2, startedAt: "2024-05-02T10:00:00Z"), changelog: [F.entry(.added, "2")],
        unchanged: [F.entry(.unchanged, "1")])
      #expect(
        try connection.query("SELECT op_type, row_id FROM backflow_audit.sync_snapshot ORDER BY row_id")
          == [["unchanged", "1"], ["added", "2"]])
    }
  }
}
