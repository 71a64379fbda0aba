import BackflowConfig
import BackflowDestinations
import BackflowPostgres
import BackflowTestSupport
import Foundation
import Testing

// Serialized: each test opens up to five connections, and the test server takes 50 in all.
@Suite(
  "PostgreSQL destination", .serialized, .enabled(if: TestEnvironment.postgresURL != nil))
struct PostgresDestinationTests {
  /// A fresh database holding `schema`, and a connection to look at it.
  func makeDatabase(_ label: String, _ schema: String) throws -> (
    PostgresDatabase, PostgresConnection
  ) {
    let database = try PostgresDatabase.create(label)
    let connection = try database.connect()
    try connection.execute(schema)
    return (database, connection)
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

  /// A prepared destination on `database`.
  func destination(_ database: PostgresDatabase, _ target: DestinationTarget) async throws
    -> PostgresDestination
  {
    let destination = PostgresDestination(conninfo: database.conninfo, target: target)
    try await destination.prepare()
    return destination
  }

  static let contacts = """
    create table contacts (email text primary key, name text not null, plan text);
    insert into contacts values ('ada@example.com', 'Ada', 'pro'), ('bob@example.com', 'Bob', null);
    """

  @Test("upsert inserts new records and updates existing ones; sending it again changes nothing")
  func upsert() async throws {
    let (database, connection) = try makeDatabase("upsert", Self.contacts)
    let destination = try await self.destination(database, target())
    let records = [
      record("ada@example.com", "Ada Lovelace", "team"),
      record("cy@example.com", "Cy", nil),
    ]
    for _ in 1...2 {
      #expect(try await destination.send(batch(.upsert, records)) == [.succeeded, .succeeded])
      #expect(
        try connection.query("select email, name, plan from contacts order by email") == [
          ["ada@example.com", "Ada Lovelace", "team"], ["bob@example.com", "Bob", nil],
          ["cy@example.com", "Cy", nil],
        ])
    }
    try await destination.finish()
  }

  @Test("new records go straight into the table; from the first batch holding a record already there, batches merge")
  func directCopy() async throws {
    let (database, connection) = try makeDatabase("direct_copy", Self.contacts)
    let destination = try await self.destination(database, target())
    // The merge's batch table is temporary: it exists only once the connection has merged.
    let batchTables = "select count(*) from pg_class where relname = 'backflow_batch' and relpersistence = 't'"
    let fresh = [record("cy@example.com", "Cy", nil), record("di@example.com", "Di", "pro")]
    #expect(try await destination.send(batch(.upsert, fresh)) == [.succeeded, .succeeded])
    #expect(try connection.query(batchTables) == [["0"]])

    let mixed = [record("eve@example.com", "Eve", nil), record("ada@example.com", "Ada Lovelace", "team")]
    #expect(try await destination.send(batch(.upsert, mixed, number: 2)) == [.succeeded, .succeeded])
    #expect(try connection.query(batchTables) == [["1"]])
    #expect(try await destination.send(batch(.upsert, [record("fay@example.com", "Fay", "pro")], number: 3)) == [.succeeded])
    #expect(
      try connection.query("select email, name, plan from contacts order by email") == [
        ["ada@example.com", "Ada Lovelace", "team"], ["bob@example.com", "Bob", nil], ["cy@example.com", "Cy", nil],
        ["di@example.com", "Di", "pro"], ["eve@example.com", "Eve", nil], ["fay@example.com", "Fay", "pro"],
      ])
    try await destination.finish()
  }

  @Test("a table with rules is always written by INSERT, which runs them; a COPY would not")
  func tableWithRules() async throws {
    let (database, connection) = try makeDatabase(
      "rules",
      """
      create table events (email text, name text, plan text);
      create table audit (email text);
      create rule audited as on insert to events do also insert into audit values (new.email);
      """)
    let destination = try await self.destination(database, target(object: "events", mode: .insert))
    let records = [record("cy@example.com", "Cy", nil), record("di@example.com", "Di", "pro")]
    #expect(try await destination.send(batch(.insert, records)) == [.succeeded, .succeeded])
    #expect(try connection.query("select email from audit order by email") == [["cy@example.com"], ["di@example.com"]])
    try await destination.finish()
  }

  @Test("update changes existing records; a missing one fails \"not found\" and the others land")
  func update() async throws {
    let (database, connection) = try makeDatabase("update", Self.contacts)
    let destination = try await self.destination(database, target(mode: .update))
    let outcomes = try await destination.send(
      batch(
        .update,
        [
          record("ada@example.com", "Ada L", "team"), record("zed@example.com", "Zed", "pro"),
          record("bob@example.com", "Bobby", "free"),
        ]))
    #expect(outcomes == [.succeeded, .failed("not found"), .succeeded])
    #expect(
      try connection.query("select email, name, plan from contacts order by email") == [
        ["ada@example.com", "Ada L", "team"], ["bob@example.com", "Bobby", "free"],
      ])
    try await destination.finish()
  }

  @Test("update with no field but the match field only checks that each record exists")
  func updateWithoutFields() async throws {
    let (database, connection) = try makeDatabase("update_key", Self.contacts)
    let destination = try await self.destination(database, target(mode: .update, fields: ["email"]))
    let outcomes = try await destination.send(
      batch(.update, [record("ada@example.com", "ada@example.com"), record("x@example.com", "x")]))
    #expect(outcomes == [.succeeded, .failed("not found")])
    #expect(try connection.query("select count(*) from contacts") == [["2"]])
  }

  @Test("insert and track add rows, writing the match column when it is not mapped")
  func insertAndTrack() async throws {
    let (database, connection) = try makeDatabase(
      "insert",
      "create table events (id bigserial primary key, user_id text, kind text, at timestamptz)")
    let insert = try await destination(
      database,
      target(object: "events", mode: .insert, matchField: "user_id", fields: ["kind", "at"]))
    #expect(
      try await insert.send(batch(.insert, [record("u1", "signup", "2024-01-01T00:00:00Z")]))
        == [.succeeded])
    let track = try await destination(
      database,
      target(object: "events", mode: .insert, matchField: nil, fields: ["user_id", "kind"]))
    #expect(
      try await track.send(
        batch(.track, [record("7", "u2", "login"), record("8", "u2", "logout")]))
        == [.succeeded, .succeeded])
    #expect(
      try connection.query(
        "select id, user_id, kind, at = '2024-01-01T00:00:00Z' from events order by id") == [
          ["1", "u1", "signup", "t"], ["2", "u2", "login", nil], ["3", "u2", "logout", nil],
        ])
  }

  @Test("delete removes the matched rows; a record that matches nothing succeeds too")
  func delete() async throws {
    let (database, connection) = try makeDatabase("delete", Self.contacts)
    let destination = try await self.destination(database, target())
    let records = [record("ada@example.com"), record("nobody@example.com")]
    for _ in 1...2 {
      #expect(try await destination.send(batch(.delete, records)) == [.succeeded, .succeeded])
      #expect(try connection.query("select email from contacts") == [["bob@example.com"]])
    }
  }

  @Test("clear_fields nulls every mapped field but the match field; a missing record succeeds")
  func clearFields() async throws {
    let (database, connection) = try makeDatabase(
      "clear_fields",
      """
      create table contacts (email text primary key, name text, plan text, other text);
      insert into contacts values ('ada@example.com', 'Ada', 'pro', 'kept');
      """)
    let destination = try await self.destination(
      database, target(fields: ["email", "name", "plan"]))
    let outcomes = try await destination.send(
      batch(.clearFields, [record("ada@example.com"), record("nobody@example.com")]))
    #expect(outcomes == [.succeeded, .succeeded])
    #expect(
      try connection.query("select email, name, plan, other from contacts")
        == [["ada@example.com", nil, nil, "kept"]])
  }

  @Test("a constraint the clear breaks fails that record with PostgreSQL's message")
  func clearFieldsNotNull() async throws {
    let (database, connection) = try makeDatabase("clear_not_null", Self.contacts)
    let destination = try await self.destination(database, target())
    let outcomes = try await destination.send(
      batch(.clearFields, [record("ada@example.com"), record("bob@example.com")]))
    #expect(
      outcomes == [
        .failed(
          #"null value in column "name" of relation "contacts" violates not-null constraint; "#
            + "DETAIL: Failing row contains (ada@example.com, null, null)."),
        .failed(
          #"null value in column "name" of relation "contacts" violates not-null constraint; "#
            + "DETAIL: Failing row contains (bob@example.com, null, null)."),
      ])
    #expect(try connection.query("select count(*) from contacts where name is null") == [["0"]])
  }

  @Test("add and remove keep list members; adding twice is harmless")
  func addAndRemove() async throws {
    let (database, connection) = try makeDatabase(
      "list", "create table members (email text primary key, added_at timestamptz default now())")
    let destination = try await self.destination(
      database, target(object: "members", mode: .addRemove, fields: []))
    let added = try await destination.send(
      batch(.add, [record("a@example.com"), record("b@example.com"), record("a@example.com")]))
    #expect(added == [.succeeded, .succeeded, .succeeded])
    #expect(try await destination.send(batch(.add, [record("a@example.com")])) == [.succeeded])
    #expect(try await destination.send(batch(.remove, [record("a@example.com")])) == [.succeeded])
    #expect(try connection.query("select email from members") == [["b@example.com"]])
  }

  @Test(
    "a bad record in the middle of 100 fails alone with PostgreSQL's message; the other 99 land",
    arguments: [
      ("check", JSONValue.int(-5), #"violates check constraint "scores_points_check""#),
      ("not null", JSONValue.null, #"null value in column "points" of relation "scores""#),
      ("bad value", JSONValue.string("many"), #"invalid input syntax for type integer: "many""#),
    ])
  func badRecordInBatch(kind: String, value: JSONValue, message: String) async throws {
    let (database, connection) = try makeDatabase(
      "bad_record",
      "create table scores (player text primary key, points integer not null check (points >= 0))")
    let destination = try await self.destination(
      database, target(object: "scores", matchField: "player", fields: ["points"]))
    let records = (0..<100).map { index in
      record(.string("p\(index)"), index == 57 ? value : .int(index))
    }
    let outcomes = try await destination.send(batch(.upsert, records))
    #expect(outcomes.count == 100)
    for (index, outcome) in outcomes.enumerated() where index != 57 {
      #expect(outcome == .succeeded, "record \(index)")
    }
    guard case .failed(let reason) = outcomes[57] else {
      Issue.record("record 57 (\(kind)) should fail, got \(outcomes[57])")
      return
    }
    #expect(reason.contains(message), "\(reason)")
    #expect(!reason.hasPrefix("ERROR"))
    #expect(!reason.contains("backflow_batch"))
    #expect(try connection.query("select count(*), sum(points) from scores") == [["99", "4893"]])
    #expect(try connection.query("select count(*) from scores where player = 'p57'") == [["0"]])
  }

  @Test("the same match value twice in one batch: both succeed, in order, so the last one wins")
  func sameKeyTwice() async throws {
    let (database, connection) = try makeDatabase("same_key", Self.contacts)
    let upsert = try await destination(database, target())
    let upserted = try await upsert.send(
      batch(
        .upsert,
        [
          record("new@example.com", "First", "a"), record("ada@example.com", "Ada", "x"),
          record("new@example.com", "Second", "b"),
        ]))
    #expect(upserted == [.succeeded, .succeeded, .succeeded])
    #expect(
      try connection.query("select name, plan from contacts where email = 'new@example.com'")
        == [["Second", "b"]])

    let update = try await destination(database, target(mode: .update))
    let updated = try await update.send(
      batch(
        .update,
        [
          record("bob@example.com", "One", "1"), record("bob@example.com", "Two", "2"),
          record("nobody@example.com", "No", "0"),
        ]))
    #expect(updated == [.succeeded, .succeeded, .failed("not found")])
    #expect(
      try connection.query("select name, plan from contacts where email = 'bob@example.com'")
        == [["Two", "2"]])
  }

  @Test("a null match value fails that record; it would match nothing")
  func nullKey() async throws {
    let (database, connection) = try makeDatabase("null_key", Self.contacts)
    let destination = try await self.destination(database, target())
    let outcomes = try await destination.send(
      batch(
        .upsert,
        [record(.null, .string("Nobody"), .string("x")), record("cy@example.com", "Cy", nil)]))
    #expect(outcomes == [.failed("the match field email is null"), .succeeded])
    #expect(try connection.query("select count(*) from contacts") == [["3"]])
  }

  @Test("a missing table is refused before anything is sent, with a CREATE TABLE to start from")
  func missingTable() async throws {
    let (database, _) = try makeDatabase("missing_table", "select 1")
    let destination = PostgresDestination(
      conninfo: database.conninfo,
      target: target(object: "crm.contacts", fields: ["First Name", "plan"]))
    let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
    #expect(
      error?.message
        == "table crm.contacts does not exist; Backflow does not create tables. Create it, "
        + "choosing each column's type, for example: CREATE TABLE crm.contacts (email text "
        + "PRIMARY KEY, \"First Name\" text, plan text)")
    await #expect(throws: DestinationError.self) {
      try await destination.send(batch(.upsert, [record("a@example.com", "A", "pro")]))
    }
  }

  @Test("a missing column is named, with the table's columns; nothing is written")
  func missingColumn() async throws {
    let (database, connection) = try makeDatabase("missing_column", Self.contacts)
    let destination = PostgresDestination(
      conninfo: database.conninfo, target: target(fields: ["name", "Plan", "company"]))
    let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
    #expect(
      error?.message
        == "table contacts has no columns \"Plan\", company (did you mean plan for Plan?); its "
        + "columns are: email, name, plan")
    await #expect(throws: DestinationError.self) {
      try await destination.send(batch(.upsert, [record("z@example.com", "Z", "pro", "Acme")]))
    }
    #expect(try connection.query("select count(*) from contacts") == [["2"]])
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
        "create table contacts (email text, name text, plan text, unique (email, plan))",
        "the unique index contacts_email_plan_key also covers other columns"
      ),
      (
        "create table contacts (email text unique deferrable, name text, plan text)",
        "contacts_email_key is DEFERRABLE, which ON CONFLICT cannot use"
      ),
    ] as [(String, String?)])
  func missingUniqueIndex(schema: String, note: String?) async throws {
    let (database, connection) = try makeDatabase("unique", schema)
    try connection.execute("insert into contacts values ('ada@example.com', 'Ada', 'pro')")
    let destination = PostgresDestination(conninfo: database.conninfo, target: target())
    let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
    let message = error?.message ?? ""
    #expect(message.hasPrefix("the match field email of table contacts needs a unique index"))
    #expect(message.hasSuffix("Create one: CREATE UNIQUE INDEX ON contacts (email)"))
    if let note { #expect(message.contains(note), "\(message)") }
    await #expect(throws: DestinationError.self) {
      try await destination.send(batch(.upsert, [record("ada@example.com", "X", "x")]))
    }
    #expect(
      try connection.query("select email, name, plan from contacts")
        == [["ada@example.com", "Ada", "pro"]])
  }

  @Test("a UNIQUE constraint or unique index serves as well as a primary key")
  func uniqueIndexKinds() async throws {
    let (database, connection) = try makeDatabase(
      "unique_kinds",
      """
      create table a (id serial primary key, email text unique, name text, plan text);
      create table b (id serial primary key, email text, name text, plan text);
      create unique index on b (email) include (name);
      """)
    for table in ["a", "b"] {
      let destination = try await destination(database, target(object: table))
      #expect(
        try await destination.send(batch(.upsert, [record("a@example.com", "A", "x")]))
          == [.succeeded])
      #expect(
        try await destination.send(batch(.upsert, [record("a@example.com", "B", "y")]))
          == [.succeeded])
      #expect(
        try connection.query("select email, name, plan from \(table)") == [
          ["a@example.com", "B", "y"]
        ])
    }
  }

  @Test("a generated column cannot be mapped")
  func generatedColumn() async throws {
    let (database, _) = try makeDatabase(
      "generated",
      "create table contacts (email text primary key, name text, plan text generated always as (upper(name)) stored)"
    )
    let destination = PostgresDestination(conninfo: database.conninfo, target: target())
    let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
    #expect(error?.message.contains("computes plan itself") == true)
  }

  @Test("schema-qualified and mixed-case table names are found and quoted")
  func qualifiedNames() async throws {
    let (database, connection) = try makeDatabase(
      "names",
      """
      create schema crm;
      create table crm.contacts (email text primary key, name text, plan text);
      create table "Leads" ("Email" text primary key, "Full Name" text);
      """)
    let contacts = try await destination(database, target(object: "crm.contacts"))
    #expect(try await contacts.send(batch(.upsert, [record("a@x", "A", "p")])) == [.succeeded])
    #expect(try connection.query("select email from crm.contacts") == [["a@x"]])
    for object in ["Leads", "\"Leads\"", "public.Leads"] {
      let leads = try await destination(
        database, target(object: object, matchField: "Email", fields: ["Full Name"]))
      #expect(try await leads.send(batch(.upsert, [record("b@x", "B \(object)")])) == [.succeeded])
    }
    #expect(
      try connection.query(#"select "Email", "Full Name" from "Leads""#) == [
        ["b@x", "B public.Leads"]
      ])
  }

  @Test(
    "values keep their types: integers, long numerics, booleans, timestamps, jsonb, awkward text, NULL"
  )
  func typesKept() async throws {
    let (database, connection) = try makeDatabase(
      "types",
      """
      create table typed (
        id integer primary key, amount numeric, ratio double precision, whole integer,
        flag boolean, at timestamptz, doc jsonb, tags jsonb, note text, truth jsonb, nothing text
      )
      """)
    let fields = [
      "amount", "ratio", "whole", "flag", "at", "doc", "tags", "note", "truth", "nothing",
    ]
    let destination = try await self.destination(
      database, target(object: "typed", matchField: "id", fields: fields))
    let awkward = "tab\there\nnew line\\back slash\r\\N \\. \"quoted\" Zoë ✓"
    let values: [JSONValue] = [
      .number("12345678901234567890.123456789012345678"), .double(0.1), .double(3), .bool(true),
      .string("2024-05-06T07:08:09.123456+02:00"),
      .object([
        ("name", .string("Ada")), ("n", .int(1)), ("nested", .array([.null, .bool(false)])),
      ]),
      .array([.string("a\tb"), .int(2)]), .string(awkward), .bool(false), .null,
    ]
    let outcomes = try await destination.send(
      batch(.upsert, [DestinationRecord(key: .int(42), values: values)]))
    #expect(outcomes == [.succeeded])
    let rows = try connection.query(
      """
      select id, amount::text, ratio = 0.1::float8, whole, flag,
        at = '2024-05-06 05:08:09.123456+00', doc = '{"name": "Ada", "n": 1, "nested": [null, false]}',
        tags->>0, jsonb_typeof(truth), note, nothing is null
      from typed
      """)
    #expect(
      rows == [
        [
          "42", "12345678901234567890.123456789012345678", "t", "3", "t", "t", "t", "a\tb",
          "boolean", awkward, "t",
        ]
      ])
  }

  @Test("clear empties the table")
  func clear() async throws {
    let (database, connection) = try makeDatabase("clear", Self.contacts)
    let destination = try await self.destination(database, target())
    try await destination.clear()
    #expect(try connection.query("select count(*) from contacts") == [["0"]])
    #expect(try await destination.send(batch(.clear, [])) == [])
  }

  @Test("the sweep deletes exactly the rows whose match value was not kept")
  func sweep() async throws {
    let (database, connection) = try makeDatabase(
      "sweep",
      """
      create table people (id serial primary key, code integer unique, name text);
      insert into people (code, name) select i, 'p' || i from generate_series(1, 10) i;
      insert into people (code, name) values (null, 'no code');
      """)
    let destination = try await self.destination(
      database, target(object: "people", mode: .mirror, matchField: "code", fields: ["name"]))
    let sweep = try await destination.sweep()
    try await sweep.keep([.int(1), .int(3), .string("5"), .null])
    try await sweep.keep([.int(7), .int(99), .number("10")])
    #expect(try await sweep.finish() == 5)
    #expect(
      try connection.query("select code from people order by code")
        == [["1"], ["3"], ["5"], ["7"], ["10"], [nil]])
    await #expect(throws: DestinationError.self) { try await sweep.keep([.int(1)]) }
  }

  @Test("with concurrency 4, 20 batches sent at once all land")
  func concurrentBatches() async throws {
    let (database, connection) = try makeDatabase(
      "concurrent", "create table items (id integer primary key, label text, batch integer)")
    let destination = try await self.destination(
      database,
      target(object: "items", matchField: "id", fields: ["label", "batch"], concurrency: 4))
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
      try connection.query("select count(*), count(distinct batch) from items") == [["1000", "20"]])
    let connections =
      "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
    #expect(Int(try connection.query(connections)[0][0] ?? "") ?? 0 <= 4)
    try await destination.finish()
    // The server notices a closed connection a moment later.
    var open = "1"
    for _ in 0..<50 where open != "0" {
      try await Task.sleep(for: .milliseconds(20))
      open = try connection.query(connections)[0][0] ?? ""
    }
    #expect(open == "0")
  }

  @Test("a lost connection fails the batch with DestinationError; the next batch reconnects")
  func lostConnection() async throws {
    let (database, connection) = try makeDatabase("lost", Self.contacts)
    let destination = try await self.destination(database, target())
    #expect(try await destination.send(batch(.upsert, [record("a@x", "A", "p")])) == [.succeeded])
    try connection.execute(
      """
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()
      """)
    let error = await #expect(throws: DestinationError.self) {
      try await destination.send(batch(.upsert, [record("b@x", "B", "p")], number: 2))
    }
    #expect(error?.message.contains("lost the connection to PostgreSQL during batch 2") == true)
    #expect(try await destination.send(batch(.upsert, [record("c@x", "C", "p")])) == [.succeeded])
    #expect(
      try connection.query("select email from contacts where email like '_@x' order by email")
        == [["a@x"], ["c@x"]])
  }

  @Test("a refusal that is no record's fault (no privilege) fails every record with its message")
  func noPrivilege() async throws {
    let (database, connection) = try makeDatabase("privilege", Self.contacts)
    let role = "bf_limited_\(database.name.suffix(8))"
    try connection.execute(
      "create role \(role) login; grant select, insert on contacts to \(role)")
    defer { _ = try? connection.execute("drop owned by \(role); drop role \(role)") }
    let destination = PostgresDestination(
      conninfo: database.conninfo + " user=\(role)", target: target())
    try await destination.prepare()
    let outcomes = try await destination.send(
      batch(.upsert, [record("ada@example.com", "A", "x"), record("new@example.com", "N", "y")]))
    #expect(outcomes == Array(repeating: .failed("permission denied for table contacts"), count: 2))
    try await destination.finish()
    #expect(try connection.query("select count(*) from contacts") == [["2"]])
  }

  @Test("errors never show the connection string or its password")
  func noSecretsInErrors() async throws {
    let destination = PostgresDestination(
      conninfo: "host=127.0.0.1 port=1 user=someone password=s3cret-value connect_timeout=2",
      target: target())
    let error = await #expect(throws: DestinationError.self) { try await destination.prepare() }
    let message = error?.message ?? ""
    #expect(message.hasPrefix("cannot connect to PostgreSQL:"))
    #expect(!message.contains("s3cret-value"))
    #expect(!message.contains("password"))
  }
}
