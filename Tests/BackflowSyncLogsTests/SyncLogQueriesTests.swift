import BackflowPostgres
import BackflowSyncLogs
import BackflowTestSupport
import Foundation
import Testing

/// Runs every query of docs/sync-logs.md on tables `SyncLogWriter` wrote, so the page cannot
/// drift from the tables.
@Suite("Sync log queries in docs/sync-logs.md", .serialized, .enabled(if: TestEnvironment.postgresURL != nil))
struct SyncLogQueriesTests {
  typealias F = SyncLogFixture

  /// Each ```sql block of the page, under the heading above it.
  static func documentedQueries() throws -> [String: [String]] {
    let url = ProjectFixture.repositoryRoot.appendingPathComponent("docs/sync-logs.md")
    let text = try String(contentsOf: url, encoding: .utf8)
    var queries: [String: [String]] = [:]
    var heading = ""
    var block: [Substring]?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if var lines = block {
        if line.hasPrefix("```") {
          queries[heading, default: []].append(lines.joined(separator: "\n"))
          block = nil
        } else {
          lines.append(line)
          block = lines
        }
      } else if line == "```sql" {
        block = []
      } else if line.hasPrefix("#") {
        heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
      }
    }
    return queries
  }

  /// Six runs of two syncs: users entering, leaving and coming back, a row that keeps failing,
  /// a change that fails then succeeds, an aborted add, a NULL key.
  func writeHistory(_ writer: SyncLogWriter) throws {
    let invalid = "422: email is invalid"
    func run(_ id: Int, _ day: Int) -> SyncLogRun {
      F.run(id: id, startedAt: "2024-05-0\(day)T10:00:00Z", finishedAt: "2024-05-0\(day)T10:01:00Z")
    }
    try writer.write(
      run(1, 1),
      changelog: [
        F.entry(.added, "1"), F.entry(.added, "2"), F.entry(.added, "3"), F.entry(.added, "4"),
        F.entry(.added, "5", .failed, invalid),
      ])
    try writer.write(
      F.run(
        id: 2, syncID: 8, startedAt: "2024-05-01T10:05:00Z", status: .failed, syncName: "accounts_to_api",
        destination: "crm_api/accounts", modelName: "accounts"),
      changelog: [F.entry(.added, "a1"), F.entry(.added, "a2", .failed, "timeout after 30s")])
    try writer.write(
      run(3, 2),
      changelog: [
        F.entry(.removed, "2"), F.entry(.added, "5", .failed, invalid),
        F.entry(.changed, "3", .failed, "429: rate limited"),
      ],
      unchanged: [F.entry(.unchanged, "1"), F.entry(.unchanged, "4")])
    try writer.write(
      run(4, 3),
      changelog: [F.entry(.added, "2"), F.entry(.changed, "3"), F.entry(.added, "5", .failed, invalid)],
      unchanged: [F.entry(.unchanged, "1"), F.entry(.unchanged, "4")])
    try writer.write(
      run(5, 4),
      changelog: [
        F.entry(.removed, "2"), F.entry(.removed, "4"), F.entry(.added, "6", .aborted),
        F.entry(.added, "5", .failed, invalid),
      ],
      unchanged: [F.entry(.unchanged, "1"), F.entry(.unchanged, "3")])
    try writer.write(
      run(6, 5),
      changelog: [
        F.entry(.added, "2"), F.entry(.added, "6"), F.entry(.added, "5", .failed, invalid),
        F.entry(.added, nil, .failed, "primary key is NULL"),
      ],
      unchanged: [F.entry(.unchanged, "1"), F.entry(.unchanged, "3")])
  }

  /// 10:00 UTC on a day of May 2024, as PostgreSQL shows a timestamptz in UTC.
  static func day(_ day: Int) -> String { "2024-05-0\(day) 10:00:00+00" }

  /// What each documented query returns on `writeHistory`'s tables, by heading.
  static let expected: [String: [[String?]]] = [
    "The most common error of each sync": [
      ["7", "422: email is invalid", "5"],
      ["8", "timeout after 30s", "1"],
    ],
    "When rows entered and left a model": [
      ["7", "1", day(1), day(1), nil, nil],
      ["7", "2", day(1), day(5), day(2), day(4)],
      ["7", "3", day(1), day(1), nil, nil],
      ["7", "4", day(1), day(1), day(4), day(4)],
      // Four retries of a failing add are not four entries.
      ["7", "5", day(1), day(1), nil, nil],
      // Aborted, then sent: one entry.
      ["7", "6", day(4), day(4), nil, nil],
      ["8", "a1", "2024-05-01 10:05:00+00", "2024-05-01 10:05:00+00", nil, nil],
      ["8", "a2", "2024-05-01 10:05:00+00", "2024-05-01 10:05:00+00", nil, nil],
    ],
    "Rows that flap": [["7", "2", "3", "2"]],
  ]

  /// The first five columns (model, row, op, status, reason) of the current rows.
  static let currentRows: [[String?]] = [
    ["accounts", "a1", "added", "succeeded", nil],
    ["accounts", "a2", "added", "failed", "timeout after 30s"],
    ["users", "1", "unchanged", "succeeded", nil],
    ["users", "2", "added", "succeeded", nil],
    ["users", "3", "unchanged", "succeeded", nil],
    ["users", "5", "added", "failed", "422: email is invalid"],
    ["users", "6", "added", "succeeded", nil],
    ["users", nil, "added", "failed", "primary key is NULL"],
  ]

  @Test("every documented query runs and answers as the page says")
  func documentedQueries() throws {
    let queries = try Self.documentedQueries()
    let headings = [
      "The most common error of each sync", "When rows entered and left a model", "Rows that flap",
      "The current rows of every model", "Keeping previously failed rows out of a model",
    ]
    // A query added to the page needs an expected answer here.
    #expect(Set(queries.keys) == Set(headings))
    for heading in headings { #expect(queries[heading]?.count == 1, "\(heading)") }

    try withTemporaryDirectory { directory in
      let database = try PostgresDatabase.create("logs_docs")
      let writer = try F.writer(
        in: directory, source: "{ type: postgres, url: \"${LOGS_URL}\" }",
        environment: ["LOGS_URL": database.conninfo])
      try writeHistory(writer)
      let connection = try database.connect()
      try connection.execute("SET TIME ZONE 'UTC'")
      try connection.execute(
        """
        CREATE TABLE users (user_id integer PRIMARY KEY, email text);
        INSERT INTO users SELECT id, id || '@example.com' FROM unnest(ARRAY[1, 2, 3, 5, 6, 7]) AS id;
        """)

      for (heading, rows) in Self.expected {
        let sql = try #require(queries[heading]?.first)
        #expect(try connection.query(sql) == rows, "\(heading)")
      }

      let current = try connection.query(try #require(queries["The current rows of every model"]?.first))
      #expect(current.map { Array($0.prefix(5)) } == Self.currentRows)
      // The fields column is the row, as JSON.
      #expect(current.allSatisfy { $0.count == 6 && $0[5]?.hasPrefix("{") == true })

      // Row 5 keeps failing and stays out; row 3 failed once, then succeeded; 7 was never sent.
      let model = try connection.query(try #require(queries["Keeping previously failed rows out of a model"]?.first))
      #expect(model.compactMap { $0.first ?? nil }.sorted() == ["1", "2", "3", "6", "7"])
    }
  }
}
