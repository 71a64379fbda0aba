import BackflowSQLite
import BackflowTestSupport
import CSQLite
import Testing

@Suite("SQLiteStatement")
struct SQLiteStatementTests {
  @Test("each storage class comes back as its value and as text")
  func valuesOfEachType() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      let statement = try database.prepare(
        "select 42, -1.5, 'Zoë ✓', x'00ff10', null, x'', 'a' || char(0) || 'b'")
      #expect(try statement.step())
      #expect(statement.value(at: 0) == .integer(42))
      #expect(statement.value(at: 1) == .real(-1.5))
      #expect(statement.value(at: 2) == .text("Zoë ✓"))
      #expect(statement.value(at: 3) == .blob([0x00, 0xFF, 0x10]))
      #expect(statement.value(at: 4) == .null)
      #expect(statement.value(at: 5) == .blob([]))
      #expect(statement.value(at: 6) == .text("a\u{0}b"))
      #expect(statement.value(at: 99) == .null)
      #expect(statement.text(at: 0) == "42")
      #expect(statement.text(at: 1) == "-1.5")
      #expect(statement.text(at: 2) == "Zoë ✓")
      #expect(statement.text(at: 4) == nil)
      #expect(statement.text(at: 5) == "")
      #expect(try !statement.step())
      // Stepping again would run the statement once more; it stays done instead.
      #expect(try !statement.step())
    }
  }

  @Test("rows come one step at a time, and the statement keeps its database open")
  func stepsThroughRows() throws {
    try withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("t.db").path
      let statement = try {
        let database = try SQLiteDatabase(path: path)
        try database.execute("create table t (n integer); insert into t values (1), (2), (3);")
        return try database.prepare("select n from t order by n")
      }()
      var seen: [SQLiteValue] = []
      while try statement.step() { seen.append(statement.value(at: 0)) }
      #expect(seen == [.integer(1), .integer(2), .integer(3)])
    }
  }

  @Test("column names are known right after prepare, before anything runs")
  func columnNamesWithoutStepping() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      try database.execute("create table people (id integer primary key, name text)")
      #expect(
        try database.prepare("select id, name as label, 1 + 1 from people").columnNames
          == ["id", "label", "1 + 1"])
      #expect(
        try database.prepare("insert into people (name) values ($1) returning id", ["x"])
          .columnNames == ["id"])
      #expect(try database.query("select count(*) from people") == [["0"]])
      #expect(try database.prepare("delete from people").columnNames == [])
    }
  }

  @Test("$1 and $2 bind by number, wherever and however often they appear")
  func dollarParameters() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      let statement = try database.prepare("select $2, $1, $1 || $2, $1 is null", ["a", "b"])
      #expect(try statement.step())
      #expect((0..<4).map { statement.text(at: $0) } == ["b", "a", "ab", "0"])
      #expect(try database.query("select $1 is null, $1", [nil]) == [["1", nil]])
      try database.execute("create table pairs (a text, b text)")
      #expect(try database.query("insert into pairs values ($1, $1)", ["same"]) == [])
      #expect(try database.query("insert into pairs values ($2, $1)", ["second", "first"]) == [])
      #expect(
        try database.query("select a, b from pairs where a = $1 or b = $1 order by a", ["first"])
          == [["first", "second"]])
      #expect(
        try database.query("select count(*) from pairs where a = ? and b = ?", ["same", "same"])
          == [["1"]])
      let tooFew = #expect(throws: SQLiteError.self) {
        try database.prepare("select $1, $2", ["only one"])
      }
      #expect(tooFew?.code == SQLITE_RANGE)
      let tooMany = #expect(throws: SQLiteError.self) {
        try database.query("select $1, $1", ["a", "b"])
      }
      #expect(tooMany?.code == SQLITE_RANGE)
    }
  }

  @Test("a second statement, or none, is refused")
  func oneStatementOnly() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      let two = #expect(throws: SQLiteError.self) { try database.prepare("select 1; select 2") }
      #expect(two?.code == SQLITE_MISUSE)
      let none = #expect(throws: SQLiteError.self) { try database.prepare(" -- nothing") }
      #expect(none?.code == SQLITE_MISUSE)
      let syntax = #expect(throws: SQLiteError.self) { try database.prepare("selec 1") }
      #expect(syntax?.message.contains("syntax error") == true)
    }
  }

  @Test("a failure while stepping throws SQLite's message and code")
  func errorOnStep() throws {
    try withTemporaryDirectory { directory in
      let database = try SQLiteDatabase(path: directory.appendingPathComponent("t.db").path)
      try database.execute(
        "create table contacts (email text unique); insert into contacts values ('a');")
      let statement = try database.prepare("insert into contacts values ($1)", ["a"])
      let error = #expect(throws: SQLiteError.self) { try statement.step() }
      #expect(error?.code == SQLITE_CONSTRAINT | (8 << 8))
      #expect(error?.message == "UNIQUE constraint failed: contacts.email")
    }
  }
}
