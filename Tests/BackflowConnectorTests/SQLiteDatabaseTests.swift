import BackflowSQLite
import BackflowTestSupport
import CSQLite
import Foundation
import Testing

@Suite("SQLiteDatabase")
struct SQLiteDatabaseTests {
  @Test("rows round-trip through bindings, NULL as nil and distinct from the empty string")
  func roundTripsRows() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      try database.execute(
        """
        create table people (id integer primary key, name text, note text, score real);
        create index people_name on people (name);
        """)
      let rows: [[String?]] = [
        ["1", "Ada", nil, "1.5"],
        ["2", nil, "x", nil],
        ["3", "", "Zoë ✓ 日本", "-2.0"],
        ["4", "O'Brien'; drop table people; --", "two\nlines", "0.0"],
      ]
      for row in rows {
        #expect(try database.query("insert into people values (?, ?, ?, ?)", row) == [])
      }
      #expect(try database.query("select id, name, note, score from people order by id") == rows)
      #expect(try database.query("select id from people where name = ?", [""]) == [["3"]])
      #expect(try database.query("select id from people where name is ?", [nil]) == [["2"]])
    }
  }

  @Test("a constraint violation carries SQLite's message and the extended result code")
  func constraintViolation() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      try database.execute(
        "create table contacts (email text unique not null); insert into contacts values ('a');")
      let unique = #expect(throws: SQLiteError.self) {
        try database.query("insert into contacts values (?)", ["a"])
      }
      #expect(unique?.code == sqliteConstraintUnique)
      #expect(unique?.message == "UNIQUE constraint failed: contacts.email")
      let notNull = #expect(throws: SQLiteError.self) {
        try database.execute("insert into contacts values (null)")
      }
      #expect(notNull?.code == sqliteConstraintNotNull)
      #expect(notNull?.description.contains("NOT NULL constraint failed: contacts.email") == true)
    }
  }

  @Test("a read-only database answers queries and refuses writes")
  func readOnlyRefusesWrites() throws {
    try withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("t.db").path
      do {
        let database = try SQLiteDatabase(path: path)
        try database.execute("create table t (x text); insert into t values ('kept');")
      }
      let readOnly = try SQLiteDatabase(path: path, readOnly: true)
      #expect(try readOnly.query("select x from t") == [["kept"]])
      let error = #expect(throws: SQLiteError.self) {
        try readOnly.execute("insert into t values ('lost')")
      }
      #expect(error?.code == SQLITE_READONLY)
      #expect(try readOnly.query("select count(*) from t") == [["1"]])
    }
  }

  @Test("opening a missing file read-only fails instead of creating it")
  func readOnlyDoesNotCreate() {
    withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("missing.db").path
      let error = #expect(throws: SQLiteError.self) {
        try SQLiteDatabase(path: path, readOnly: true)
      }
      #expect(error?.code == SQLITE_CANTOPEN)
      #expect(!FileManager.default.fileExists(atPath: path))
    }
  }

  @Test("mistakes in a query are errors, not silently ignored")
  func queryMisuse() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      try database.execute("create table t (x text)")
      let syntax = #expect(throws: SQLiteError.self) { try database.query("selec 1") }
      #expect(syntax?.message.contains("syntax error") == true)
      let count = #expect(throws: SQLiteError.self) {
        try database.query("insert into t values (?)", ["a", "b"])
      }
      #expect(count?.code == SQLITE_RANGE)
      let two = #expect(throws: SQLiteError.self) {
        try database.query("insert into t values ('a'); insert into t values ('b')")
      }
      #expect(two?.code == SQLITE_MISUSE)
      #expect(try database.query("select count(*) from t") == [["0"]])
      #expect(try database.query("select 1; -- a trailing comment is not a statement") == [["1"]])
      #expect(try database.query("  ") == [])
    }
  }
}

// sqlite3.h defines the extended codes as expressions, which Swift does not import.
private let sqliteConstraintNotNull = SQLITE_CONSTRAINT | (5 << 8)
private let sqliteConstraintUnique = SQLITE_CONSTRAINT | (8 << 8)
