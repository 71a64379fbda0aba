import BackflowConfig
import BackflowDestinations
import BackflowSQLite
import BackflowTestSupport
import Foundation
import Testing

@Suite("SQLite destination")
struct SQLiteDestinationTests {
  /// Runs `body` with a new database file holding `schema`, and a connection to look at it.
  func withDatabase(
    _ schema: String, _ body: (String, SQLiteDatabase) async throws -> Void
  ) async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("destination.db").path
      let database = try SQLiteDatabase(path: path)
      try database.execute(schema)
      try await body(path, database)
    }
  }

  func target(
    object: String = "contacts", mode: Sync.Mode = .upsert, matchField: String? = "email",
    fields: [String] = ["name", "plan"], concurrency: Int = 1
  ) -> DestinationTarget {
    DestinationTarget(
      syncName: "contacts_to_crm", syncID: 1, runID: 1, type: .object, mode: mode, object: object,
      matchField: matchField, fields: fields, concurrency: concurrency)
  }

  func record(_ key: JSONValue, _ values: JSONValue...) -> DestinationRecord {
    DestinationRecord(key: key, values: values)
  }

  /// A record whose key and values are strings, `nil` for null.
  func record(_ key: String, _ values: String?...) -> DestinationRecord {
    DestinationRecord(key: .string(key), values: values.map { $0.map(JSONValue.string) ?? .null })
  }

  func batch(
    _ operation: DestinationOperation, _ records: [DestinationRecord], number: Int = 1
  ) -> DestinationBatch {
    DestinationBatch(number: number, operation: operation, records: records)
  }

  /// A prepared destination on the database at `path`.
  func destination(_ path: String, _ target: DestinationTarget) async throws -> SQLiteDestination {
    let destination = SQLiteDestination(path: path, target: target)
    try await destination.prepare()
    return destination
  }

  static let contacts = """
    create table contacts (email text primary key, name text not null, plan text);
    insert into contacts values ('ada@example.com', 'Ada', 'pro'), ('bob@example.com', 'Bob', null);
    """

  @Test("upsert inserts new records and updates existing ones; sending it again changes nothing")
  func upsert() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = try await self.destination(path, target())
      let records = [
        record("ada@example.com", "Ada Lovelace", "team"), record("cy@example.com", "Cy", nil),
      ]
      for _ in 1...2 {
        #expect(try await destination.send(batch(.upsert, records)) == [.succeeded, .succeeded])
        #expect(
          try database.query("select email, name, plan from contacts order by email") == [
            ["ada@example.com", "Ada Lovelace", "team"], ["bob@example.com", "Bob", nil],
            ["cy@example.com", "Cy", nil],
          ])
      }
      try await destination.finish()
    }
  }

  @Test("update changes existing records; a missing one fails \"not found\" and the others land")
  func update() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = try await self.destination(path, target(mode: .update))
      let outcomes = try await destination.send(
        batch(
          .update,
          [
            record("ada@example.com", "Ada L", "team"), record("zed@example.com", "Zed", "pro"),
            record("bob@example.com", "Bob", nil),
          ]))
      #expect(outcomes == [.succeeded, .failed("not found"), .succeeded])
      #expect(
        try database.query("select email, name, plan from contacts order by email") == [
          ["ada@example.com", "Ada L", "team"], ["bob@example.com", "Bob", nil],
        ])
      let keyOnly = try await self.destination(path, target(mode: .update, fields: ["email"]))
      #expect(
        try await keyOnly.send(batch(.update, [record("bob@example.com", "x"), record("no", "y")]))
          == [.succeeded, .failed("not found")])
    }
  }

  @Test("insert and track add rows, writing the match column when it is not mapped")
  func insertAndTrack() async throws {
    try await withDatabase(
      "create table events (id integer primary key, user_id text, kind text)"
    ) { path, database in
      let insert = try await self.destination(
        path, target(object: "events", mode: .insert, matchField: "user_id", fields: ["kind"]))
      #expect(try await insert.send(batch(.insert, [record("u1", "signup")])) == [.succeeded])
      let track = try await self.destination(
        path, target(object: "events", mode: .insert, matchField: nil, fields: ["user_id", "kind"]))
      #expect(
        try await track.send(batch(.track, [record("7", "u2", "login"), record("8", "u2", "out")]))
          == [.succeeded, .succeeded])
      #expect(
        try database.query("select id, user_id, kind from events order by id") == [
          ["1", "u1", "signup"], ["2", "u2", "login"], ["3", "u2", "out"],
        ])
    }
  }

  @Test("delete removes the matched rows; a record that matches nothing succeeds too")
  func delete() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = try await self.destination(path, target())
      let records = [record("ada@example.com"), record("nobody@example.com")]
      for _ in 1...2 {
        #expect(try await destination.send(batch(.delete, records)) == [.succeeded, .succeeded])
        #expect(try database.query("select email from contacts") == [["bob@example.com"]])
      }
    }
  }

  @Test("clear_fields nulls every mapped field but the match field; a missing record succeeds")
  func clearFields() async throws {
    try await withDatabase(
      """
      create table contacts (email text primary key, name text, plan text, other text);
      insert into contacts values ('ada@example.com', 'Ada', 'pro', 'kept');
      """
    ) { path, database in
      let destination = try await self.destination(path, target(fields: ["email", "name", "plan"]))
      let outcomes = try await destination.send(
        batch(.clearFields, [record("ada@example.com"), record("nobody@example.com")]))
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(
        try database.query("select email, name, plan, other from contacts")
          == [["ada@example.com", nil, nil, "kept"]])
    }
  }

  @Test("add and remove keep list members; adding twice is harmless")
  func addAndRemove() async throws {
    try await withDatabase("create table members (email text unique, note text)") {
      path, database in
      let destination = try await self.destination(
        path, target(object: "members", mode: .addRemove, fields: []))
      let added = try await destination.send(
        batch(.add, [record("a@example.com"), record("b@example.com"), record("a@example.com")]))
      #expect(added == [.succeeded, .succeeded, .succeeded])
      #expect(try await destination.send(batch(.remove, [record("a@example.com")])) == [.succeeded])
      #expect(try database.query("select email from members") == [["b@example.com"]])
    }
  }

  @Test(
    "a bad record in the middle of 100 fails alone with SQLite's message; the other 99 land",
    arguments: [
      ("check", JSONValue.int(-5), "CHECK constraint failed: points >= 0"),
      ("not null", JSONValue.null, "NOT NULL constraint failed: scores.points"),
      (
        "strict type", JSONValue.string("many"),
        "cannot store TEXT value in INTEGER column scores.points"
      ),
    ])
  func badRecordInBatch(kind: String, value: JSONValue, message: String) async throws {
    try await withDatabase(
      "create table scores (player text primary key, points integer not null check (points >= 0)) strict"
    ) { path, database in
      let destination = try await self.destination(
        path, target(object: "scores", matchField: "player", fields: ["points"]))
      let records = (0..<100).map { index in
        record(.string("p\(index)"), index == 57 ? value : .int(index))
      }
      let outcomes = try await destination.send(batch(.upsert, records))
      #expect(outcomes.count == 100)
      for (index, outcome) in outcomes.enumerated() where index != 57 {
        #expect(outcome == .succeeded, "record \(index)")
      }
      #expect(outcomes[57] == .failed(message), "\(kind)")
      #expect(try database.query("select count(*), sum(points) from scores") == [["99", "4893"]])
    }
  }

  @Test(
    "a constraint that rolls back the transaction fails its record; the rest of the batch lands")
  func conflictRollback() async throws {
    try await withDatabase(
      "create table scores (player text primary key, points integer not null on conflict rollback)"
    ) { path, database in
      let destination = try await self.destination(
        path, target(object: "scores", matchField: "player", fields: ["points"]))
      let outcomes = try await destination.send(
        batch(
          .upsert, [record(.string("a"), .int(1)), record("b", nil), record(.string("c"), .int(3))])
      )
      #expect(
        outcomes == [.succeeded, .failed("NOT NULL constraint failed: scores.points"), .succeeded])
      #expect(try database.query("select player from scores order by player") == [["a"], ["c"]])
    }
  }

  @Test("the same match value twice in one batch: both succeed, in order, so the last one wins")
  func sameKeyTwice() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = try await self.destination(path, target())
      let outcomes = try await destination.send(
        batch(
          .upsert,
          [record("new@example.com", "First", "a"), record("new@example.com", "Second", "b")]))
      #expect(outcomes == [.succeeded, .succeeded])
      #expect(
        try database.query("select name, plan from contacts where email = 'new@example.com'")
          == [["Second", "b"]])
    }
  }

  @Test("a missing database file or table is refused with a CREATE TABLE to start from")
  func missingTable() async throws {
    try await withDatabase("create table other (id integer)") { path, database in
      let destination = SQLiteDestination(path: path, target: target())
      let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
      #expect(
        error?.message
          == "table contacts does not exist; Backflow does not create tables. Create it, "
          + "choosing each column's type, for example: CREATE TABLE contacts (email text "
          + "PRIMARY KEY, name text, plan text)")
      await #expect(throws: DestinationError.self) {
        try await destination.send(batch(.upsert, [record("a@example.com", "A", "pro")]))
      }

      let missingFile = (path as NSString).deletingLastPathComponent + "/missing.db"
      let noFile = SQLiteDestination(path: missingFile, target: target())
      let fileError = await #expect(throws: DestinationError.self) { try await noFile.prepare() }
      #expect(fileError?.message.hasPrefix("no SQLite database at \(missingFile);") == true)
      #expect(!FileManager.default.fileExists(atPath: missingFile))
    }
  }

  @Test("a missing column is named, with the table's columns; names ignore case as SQLite does")
  func missingColumn() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = SQLiteDestination(path: path, target: target(fields: ["NAME", "company"]))
      let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
      #expect(
        error?.message == "table contacts has no column company; its columns are: email, name, plan"
      )
      await #expect(throws: DestinationError.self) {
        try await destination.send(batch(.upsert, [record("z@example.com", "Z", "Acme")]))
      }
      #expect(try database.query("select count(*) from contacts") == [["2"]])

      let mixedCase = try await self.destination(
        path, target(object: "Contacts", matchField: "EMAIL", fields: ["Name"]))
      #expect(
        try await mixedCase.send(batch(.upsert, [record("ada@example.com", "ADA")])) == [.succeeded]
      )
      #expect(
        try database.query("select name from contacts where email = 'ada@example.com'") == [["ADA"]]
      )
    }
  }

  @Test(
    "a match field without a unique index of its own is refused, saying how to create one",
    arguments: [
      ("create table contacts (email text, name text, plan text)", nil),
      (
        "create table contacts (email text, name text, plan text); "
          + "create unique index contacts_active on contacts (email) where plan is not null",
        "the unique index contacts_active is partial (it has a WHERE clause)"
      ),
      (
        "create table contacts (email text, name text, plan text, primary key (email, plan))",
        "the unique index sqlite_autoindex_contacts_1 also covers other columns"
      ),
      (
        "create table contacts (email text, name text, plan text); "
          + "create unique index contacts_lower on contacts (lower(email))",
        nil
      ),
    ] as [(String, String?)])
  func missingUniqueIndex(schema: String, note: String?) async throws {
    try await withDatabase(
      schema + "; insert into contacts values ('ada@example.com', 'Ada', 'pro')"
    ) {
      path, database in
      let destination = SQLiteDestination(path: path, target: target())
      let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
      let message = error?.message ?? ""
      #expect(message.hasPrefix("the match field email of table contacts needs a unique index"))
      #expect(message.hasSuffix("Create one: CREATE UNIQUE INDEX ON contacts (email)"))
      if let note { #expect(message.contains(note), "\(message)") }
      await #expect(throws: DestinationError.self) {
        try await destination.send(batch(.upsert, [record("ada@example.com", "X", "x")]))
      }
      let rows = try database.query("select email, name, plan from contacts")
      #expect(rows == [["ada@example.com", "Ada", "pro"]])
    }
  }

  @Test("an INTEGER PRIMARY KEY or a unique index serves as the match field's unique index")
  func uniqueKinds() async throws {
    try await withDatabase(
      """
      create table a (id integer primary key, name text);
      create table b (id integer, name text);
      create unique index b_id on b (id);
      """
    ) { path, database in
      for table in ["a", "b"] {
        let destination = try await self.destination(
          path, target(object: table, matchField: "id", fields: ["name"]))
        #expect(
          try await destination.send(batch(.upsert, [record(.int(7), .string("x"))])) == [
            .succeeded
          ])
        #expect(
          try await destination.send(batch(.upsert, [record(.int(7), .string("y"))])) == [
            .succeeded
          ])
        #expect(try database.query("select id, name from \(table)") == [["7", "y"]])
      }
    }
  }

  @Test("values are bound in their own storage classes")
  func typesKept() async throws {
    try await withDatabase(
      """
      create table typed (
        id integer primary key, i, r, whole, flag, big, big_text text, doc, note, absent
      )
      """
    ) { path, database in
      let fields = ["i", "r", "whole", "flag", "big", "big_text", "doc", "note", "absent"]
      let destination = try await self.destination(
        path, target(object: "typed", matchField: "id", fields: fields))
      let awkward = "tab\there\nnew line\\back slash\r\"quoted\" Zoë ✓"
      let values: [JSONValue] = [
        .int(42), .number("2.5"), .double(3), .bool(true),
        .number("12345678901234567890.123456789"), .number("12345678901234567890.123456789"),
        .object([("name", .string("Ada")), ("tags", .array([.int(1), .null]))]), .string(awkward),
        .null,
      ]
      let outcomes = try await destination.send(
        batch(.upsert, [DestinationRecord(key: .number("1"), values: values)]))
      #expect(outcomes == [.succeeded])
      let rows = try database.query(
        """
        select id, typeof(i), i, typeof(r), r, typeof(whole), typeof(flag), flag, typeof(big),
          big_text, doc, json_extract(doc, '$.tags[0]'), note = ?1, typeof(absent)
        from typed
        """, [awkward])
      #expect(
        rows == [
          [
            "1", "integer", "42", "real", "2.5", "integer", "integer", "1", "text",
            "12345678901234567890.123456789", #"{"name":"Ada","tags":[1,null]}"#, "1", "1", "null",
          ]
        ])
    }
  }

  @Test("clear empties the table")
  func clear() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = try await self.destination(path, target())
      try await destination.clear()
      #expect(try database.query("select count(*) from contacts") == [["0"]])
    }
  }

  @Test("the sweep deletes exactly the rows whose match value was not kept")
  func sweep() async throws {
    try await withDatabase(
      """
      create table people (id integer primary key, code integer unique, name text);
      with recursive n(i) as (select 1 union all select i + 1 from n where i < 10)
      insert into people (code, name) select i, 'p' || i from n;
      insert into people (code, name) values (null, 'no code');
      """
    ) { path, database in
      let destination = try await self.destination(
        path, target(object: "people", mode: .mirror, matchField: "code", fields: ["name"]))
      let sweep = try await destination.sweep()
      try await sweep.keep([.int(1), .int(3), .string("5"), .null])
      try await sweep.keep([.int(7), .int(99), .number("10")])
      #expect(try await sweep.finish() == 5)
      #expect(
        try database.query("select code from people order by code is null, code")
          == [["1"], ["3"], ["5"], ["7"], ["10"], [nil]])
    }
  }

  @Test("with concurrency 4, 20 batches sent at once all land, one after another")
  func concurrentBatches() async throws {
    try await withDatabase("create table items (id integer primary key, label text, batch integer)")
    {
      path, database in
      let destination = try await self.destination(
        path, target(object: "items", matchField: "id", fields: ["label", "batch"], concurrency: 4))
      let outcomes = try await withThrowingTaskGroup(of: [RecordOutcome].self) { group in
        for number in 1...20 {
          let records = (0..<50).map { index in
            let id = number * 1000 + index
            return DestinationRecord(key: .int(id), values: [.string("item \(id)"), .int(number)])
          }
          group.addTask { try await destination.send(self.batch(.upsert, records, number: number)) }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      #expect(outcomes.count == 1000)
      #expect(outcomes.allSatisfy { $0 == .succeeded })
      #expect(
        try database.query("select count(*), count(distinct batch) from items") == [["1000", "20"]])
      try await destination.finish()
    }
  }

  @Test("a database another connection keeps locked fails the batch once the busy timeout passes")
  func lockedDatabase() async throws {
    try await withDatabase(Self.contacts) { path, database in
      let destination = try await self.destination(path, target())
      try database.execute("begin exclusive")
      let error = await #expect(throws: DestinationError.self) {
        try await destination.send(batch(.upsert, [record("z@example.com", "Z", "p")], number: 3))
      }
      #expect(error?.message.contains("SQLite could not write batch 3") == true)
      #expect(error?.message.contains("database is locked") == true)
      try database.execute("rollback")
      #expect(
        try await destination.send(batch(.upsert, [record("z@example.com", "Z", "p")]))
          == [.succeeded])
    }
  }
}
