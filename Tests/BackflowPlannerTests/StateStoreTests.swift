import BackflowConfig
import BackflowSQLite
import BackflowState
import BackflowTestSupport
import Foundation
import Testing

/// The state store behaves the same on SQLite and PostgreSQL.
@Suite("state store")
struct StateStoreTests {
  func withState(_ backend: Backend, _ body: (StateStore, () throws -> StateStore) throws -> Void) throws {
    try withTemporaryDirectory { directory in
      let location: StateLocation =
        backend == .postgres ? .postgres(conninfo: try PostgresDatabase.create("state").url) : .sqlite(path: "state/s.db")
      let reader = { try StateStore.open(location, in: directory) }
      #expect(try !reader().exists, "reading creates nothing")
      try body(try StateStore.open(location, in: directory, writer: "test"), reader)
    }
  }

  @Test(arguments: Backend.allCases)
  func syncIDsAreAssignedOnceAndNeverReused(backend: Backend) throws {
    guard backend.available else { return }
    try withState(backend) { state, reader in
      let first = try state.register(syncNamed: "a")
      let second = try state.register(syncNamed: "b")
      #expect(second > first)
      try state.retire(syncID: second)
      let third = try state.register(syncNamed: "b")
      #expect(third > second)
      #expect(try reader().syncs().map(\.name) == ["a", "b", "b"])
      #expect(try reader().syncs().map { $0.retiredAt == nil } == [true, false, true])
      #expect(throws: (any Error).self) { try state.register(syncNamed: "a") }
    }
  }

  @Test(arguments: Backend.allCases)
  func snapshotsReadBackInByteOrderAndEveryWriteMovesTheSerial(backend: Backend) throws {
    guard backend.available else { return }
    try withState(backend) { state, reader in
      let id = try state.register(syncNamed: "s")
      let keys = ["b", "a", "B", "10", "9", "é", "e\u{301}"]
      try state.updateSnapshot(syncID: id, entries: keys.map { SnapshotEntry(key: $0, fingerprint: "f\($0)") }, removedKeys: [])
      try state.updateSnapshot(syncID: id, entries: [SnapshotEntry(key: "a", fingerprint: "new")], removedKeys: ["b"])
      let stream = try reader().snapshot(syncID: id)
      var read: [SnapshotEntry] = []
      while let entry = try stream.next() { read.append(entry) }
      #expect(read.map(\.key) == ["10", "9", "B", "a", "e\u{301}", "é"])
      #expect(read.first { $0.key == "a" }?.fingerprint == "new")
      let serial = try #require(try reader().syncs().first?.serial)
      try state.recordApplied(syncID: id, config: "{}", configHash: "h", primaryKey: "id", gitCommit: "abc")
      let record = try #require(try reader().syncs().first)
      #expect(record.serial > serial && record.gitCommit == "abc" && record.config == "{}")
      #expect(try reader().lineage == state.lineage && state.lineage != nil)
    }
  }

  /// PostgreSQL writes a snapshot's changes by COPY into a temporary table and two merging
  /// statements; SQLite by multi-row statements. Both must store any key text as it is, keep a
  /// key's last entry, remove keys, and write nothing from a transaction that rolled back.
  @Test(arguments: Backend.allCases)
  func snapshotUpdatesKeepEveryKeyTextTheLastEntryAndNothingFromARollback(backend: Backend) throws {
    guard backend.available else { return }
    try withState(backend) { state, reader in
      let id = try state.register(syncNamed: "s")
      let other = try state.register(syncNamed: "t")
      // Text that COPY's format must escape, a NULL-looking key, and one too many for one statement.
      let odd = ["tab\there", "line\nbreak", "back\\slash", "\\N", "carriage\rreturn", "", "Zoë"]
      let many = (0..<600).map { "k\($0)" }
      /// An update in a transaction that fails afterwards, which writes nothing.
      func rolledBack(_ entries: [SnapshotEntry], removing removed: [String]) {
        #expect(throws: (any Error).self) {
          try state.transaction {
            try state.updateSnapshot(syncID: id, entries: entries, removedKeys: removed)
            throw StateError("fails after the snapshot update")
          }
        }
      }
      // The first update rolls back (on PostgreSQL, with the temporary table it created).
      rolledBack([SnapshotEntry(key: "early", fingerprint: "e")], removing: [])
      try state.updateSnapshot(
        syncID: id,
        entries: (odd + many).map { SnapshotEntry(key: $0, fingerprint: "f-\($0)", matchValue: $0 == "" ? nil : "\"m\"") },
        removedKeys: [])
      try state.updateSnapshot(syncID: other, entries: [SnapshotEntry(key: "k1", fingerprint: "other")], removedKeys: [])
      // A key twice in one update keeps its last entry; removals leave the snapshot.
      try state.updateSnapshot(
        syncID: id,
        entries: [SnapshotEntry(key: "k1", fingerprint: "first"), SnapshotEntry(key: "k1", fingerprint: "last")],
        removedKeys: ["k2", "tab\there", "absent"])
      // A transaction that fails writes nothing, and the next update still works.
      rolledBack([SnapshotEntry(key: "k3", fingerprint: "rolled back")], removing: ["k4"])
      try state.updateSnapshot(syncID: id, entries: [SnapshotEntry(key: "k5", fingerprint: "after")], removedKeys: [])
      // Entries the caller says are new go in by a COPY (odd bytes escaped); one that is there after all
      // (k5) sends the lot through INSERT … ON CONFLICT instead, and nothing is lost.
      try state.updateSnapshot(
        syncID: id, entries: [], removedKeys: [],
        newEntries: [
          SnapshotEntry(key: "new1", fingerprint: "n1"),
          SnapshotEntry(key: "new\\ \t\n\"\u{e9}", fingerprint: "n\\", matchValue: "{\"a\": \"\\N\"}"),
        ])
      try state.updateSnapshot(
        syncID: id, entries: [SnapshotEntry(key: "k6", fingerprint: "upserted")], removedKeys: ["k7"],
        newEntries: [SnapshotEntry(key: "new2", fingerprint: "n2"), SnapshotEntry(key: "k5", fingerprint: "there")])

      func read(_ syncID: Int) throws -> [String: SnapshotEntry] {
        let stream = try reader().snapshot(syncID: syncID)
        var entries: [String: SnapshotEntry] = [:]
        while let entry = try stream.next() { entries[entry.key] = entry }
        return entries
      }
      let entries = try read(id)
      #expect(entries.count == odd.count + many.count - 2 + 3 - 1)
      #expect(
        entries["new\\ \t\n\"\u{e9}"]
          == SnapshotEntry(key: "new\\ \t\n\"\u{e9}", fingerprint: "n\\", matchValue: "{\"a\": \"\\N\"}"))
      #expect(entries["new1"]?.fingerprint == "n1" && entries["new2"]?.fingerprint == "n2" && entries["k7"] == nil)
      #expect(entries["k5"]?.fingerprint == "there" && entries["k6"]?.fingerprint == "upserted")
      for key in odd where key != "tab\there" {
        #expect(entries[key]?.fingerprint == "f-\(key)", "\(key)")
        #expect(entries[key]?.matchValue == (key == "" ? nil : "\"m\""), "\(key)")
      }
      #expect(entries["tab\there"] == nil && entries["k2"] == nil && entries["early"] == nil)
      #expect(entries["k1"]?.fingerprint == "last" && entries["k3"]?.fingerprint == "f-k3" && entries["k4"] != nil)
      #expect(entries["k599"]?.fingerprint == "f-k599")
      #expect(try read(other).mapValues(\.fingerprint) == ["k1": "other"])
    }
  }

  /// A run killed in the middle of a state transaction leaves a "hot" journal; the next plan must
  /// still read the state (SQLite rolls the journal back, which a read-only connection cannot).
  @Test func aStateFileLeftByAKilledRunIsReadable() throws {
    try withTemporaryDirectory { directory in
      let state = try StateStore.open(.sqlite(path: "state.db"), in: directory, writer: "test")
      let id = try state.register(syncNamed: "a")
      let writer = try SQLiteDatabase(path: directory.appendingPathComponent("state.db").path)
      // A tiny cache makes SQLite write changed pages to the file, their originals to the journal.
      try writer.execute("PRAGMA cache_size = 1; BEGIN IMMEDIATE; UPDATE syncs SET name = 'b'")
      try writer.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
        INSERT INTO snapshots (sync_id, row_key, fingerprint) SELECT \(id), 'key' || i, 'f' FROM n
        """)
      let crashed = directory.appendingPathComponent("crashed")
      try FileManager.default.createDirectory(at: crashed, withIntermediateDirectories: true)
      for file in ["state.db", "state.db-journal"] {
        try FileManager.default.copyItem(
          at: directory.appendingPathComponent(file), to: crashed.appendingPathComponent(file))
      }
      try writer.execute("ROLLBACK")
      let reader = try StateStore.open(.sqlite(path: "state.db"), in: crashed)
      #expect(try reader.syncs().map(\.name) == ["a"])
      #expect(try reader.snapshotCount(syncID: id) == 0)
    }
  }

  /// Ids a rest API gave records are kept per row: a new one replaces the kept one, an entry
  /// without one leaves it; both writing paths of PostgreSQL (COPY for new rows, the merge for
  /// the others) and SQLite's keep them.
  @Test(arguments: Backend.allCases)
  func keptIDsAreReplacedOnlyByNewOnes(backend: Backend) throws {
    guard backend.available else { return }
    try withState(backend) { state, reader in
      let id = try state.register(syncNamed: "s")
      try state.updateSnapshot(
        syncID: id, entries: [SnapshotEntry(key: "b", fingerprint: "f", destinationID: "7")], removedKeys: [],
        newEntries: [SnapshotEntry(key: "a", fingerprint: "f", destinationID: "\"501\""), SnapshotEntry(key: "c", fingerprint: "f")])
      try state.updateSnapshot(
        syncID: id,
        entries: [SnapshotEntry(key: "a", fingerprint: "g"), SnapshotEntry(key: "b", fingerprint: "g", destinationID: "8")],
        removedKeys: [])
      #expect(try reader().destinationIDs(syncID: id, keys: ["a", "b", "c", "z"]) == ["a": "\"501\"", "b": "8"])
      let stream = try reader().snapshot(syncID: id)
      var read: [SnapshotEntry] = []
      while let entry = try stream.next() { read.append(entry) }
      #expect(read.map(\.destinationID) == ["\"501\"", "8", nil] && read.map(\.fingerprint) == ["g", "g", "f"])
    }
  }

  /// A store written before ids were kept has no `snapshots.destination_id`: reading it works and
  /// finds no ids; the first open for writing adds the column, and the rows it held keep none.
  @Test(arguments: Backend.allCases)
  func aStoreWrittenBeforeIDsWereKeptGetsTheColumnWhenOpenedForWriting(backend: Backend) throws {
    guard backend.available else { return }
    try withTemporaryDirectory { directory in
      let database = backend == .postgres ? try PostgresDatabase.create("oldids") : nil
      let location: StateLocation = database.map { .postgres(conninfo: $0.url) } ?? .sqlite(path: "state.db")
      let old = try StateStore.open(location, in: directory, writer: "0.0.9")
      let id = try old.register(syncNamed: "s")
      let snapshots = database == nil ? "snapshots" : "backflow_state.snapshots"
      for statement in [
        "ALTER TABLE \(snapshots) DROP COLUMN destination_id",
        "INSERT INTO \(snapshots) (sync_id, row_key, fingerprint) VALUES (\(id), 'a', 'f')",
      ] {
        if let database {
          try database.connect().execute(statement)
        } else {
          try SQLiteDatabase(path: directory.appendingPathComponent("state.db").path).execute(statement)
        }
      }
      let reader = try StateStore.open(location, in: directory)
      #expect(try reader.snapshotCount(syncID: id) == 1)
      #expect(try reader.snapshot(syncID: id).next() == SnapshotEntry(key: "a", fingerprint: "f"))
      #expect(try reader.destinationIDs(syncID: id, keys: ["a"]).isEmpty)
      let writer = try StateStore.open(location, in: directory, writer: "0.1.0")
      #expect(try writer.destinationIDs(syncID: id, keys: ["a"]).isEmpty)
      try writer.updateSnapshot(syncID: id, entries: [SnapshotEntry(key: "a", fingerprint: "g", destinationID: "9")], removedKeys: [])
      #expect(try StateStore.open(location, in: directory).destinationIDs(syncID: id, keys: ["a"]) == ["a": "9"])
    }
  }
}
