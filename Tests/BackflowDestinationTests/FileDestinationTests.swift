import BackflowConfig
import BackflowDestinations
import BackflowTestSupport
import Foundation
import Testing

@Suite("file destination")
struct FileDestinationTests {
  func target(
    type: Sync.Kind = .object, mode: Sync.Mode = .upsert, object: String = "paid_users", matchField: String? = "user_id",
    fields: [String] = ["email", "name"]
  ) -> DestinationTarget {
    DestinationTarget(
      syncName: "paid_users_export", syncID: 1, runID: 1, type: type, mode: mode, object: object,
      matchField: matchField, fields: fields, concurrency: 1)
  }

  func record(_ key: JSONValue, _ values: JSONValue...) -> DestinationRecord {
    DestinationRecord(key: key, values: values)
  }

  func batch(_ operation: DestinationOperation, _ records: [DestinationRecord]) -> DestinationBatch {
    DestinationBatch(number: 1, operation: operation, records: records)
  }

  func contents(_ url: URL) throws -> String {
    try String(contentsOf: url, encoding: .utf8)
  }

  /// Opens, prepares, runs `body`, finishes: one run of one sync.
  @discardableResult
  func run(
    _ directory: URL, format: FileFormat = .csv, target: DestinationTarget? = nil,
    _ body: (FileDestination) async throws -> Void = { _ in }
  ) async throws -> FileDestination {
    let destination = FileDestination(directory: directory, format: format, target: target ?? self.target())
    try await destination.prepare()
    try await body(destination)
    try await destination.finish()
    return destination
  }

  @Test func writesAtFinish() {
    #expect(FileDestination(directory: URL(fileURLWithPath: "/tmp"), format: .csv, target: target()).writesAtFinish)
  }

  @Test func objectNamesTheFileInDir() async throws {
    try await withTemporaryDirectory { directory in
      let out = directory.appendingPathComponent("out/nested")
      let csv = try await run(out)
      #expect(csv.file == out.appendingPathComponent("paid_users.csv"))
      #expect(try contents(csv.file) == "user_id,email,name\n")
      let jsonl = try await run(out, format: .jsonl, target: target(object: "paid_users.jsonl"))
      #expect(jsonl.file == out.appendingPathComponent("paid_users.jsonl"))
      #expect(try contents(jsonl.file) == "")
      let bad = FileDestination(directory: out, format: .csv, target: target(object: "../escape"))
      await #expect(throws: DestinationError.self) { try await bad.prepare() }
    }
  }

  // MARK: Operations

  @Test func upsertCreatesAndReplacesByKey() async throws {
    try await withTemporaryDirectory { directory in
      let destination = try await run(directory) { file async throws in
        let first = try await file.send(
          batch(.upsert, [record(.int(1), .string("a@x"), .string("Ada")), record(.int(2), .string("b@x"), .string("Bob"))]))
        #expect(first == [.succeeded, .succeeded])
        let second = try await file.send(batch(.upsert, [record(.int(1), .string("ada@x"), .null)]))
        #expect(second == [.succeeded])
      }
      #expect(try contents(destination.file) == "user_id,email,name\n1,ada@x,\n2,b@x,Bob\n")
    }
  }

  @Test func updateFailsWhenTheRecordIsMissing() async throws {
    try await withTemporaryDirectory { directory in
      let destination = try await run(directory) { file async throws in
        _ = try await file.send(batch(.upsert, [record(.string("1"), .string("a@x"), .string("Ada"))]))
        let outcomes = try await file.send(
          batch(.update, [record(.string("2"), .string("b@x"), .string("Bob")), record(.int(1), .string("a@y"), .string("Ada"))]))
        #expect(outcomes == [.failed("not found"), .succeeded])
      }
      #expect(try contents(destination.file) == "user_id,email,name\n1,a@y,Ada\n")
    }
  }

  @Test func insertAndTrackAppend() async throws {
    try await withTemporaryDirectory { directory in
      let events = target(type: .event, mode: .insert, object: "signups", matchField: nil, fields: ["email", "event"])
      let destination = try await run(directory, target: events) { file async throws in
        #expect(try await file.send(batch(.insert, [record(.string("7"), .string("a@x"), .string("signed_up"))])) == [.succeeded])
        #expect(try await file.send(batch(.track, [record(.string("7"), .string("a@x"), .string("signed_up"))])) == [.succeeded])
      }
      #expect(try contents(destination.file) == "email,event\na@x,signed_up\na@x,signed_up\n")
    }
  }

  @Test func deleteRemoveClearFieldsAndClear() async throws {
    try await withTemporaryDirectory { directory in
      let destination = try await run(directory) { file async throws in
        _ = try await file.send(
          batch(.add, [1, 2, 3, 4].map { record(.int($0), .string("\($0)@x"), .string("n\($0)")) }))
        #expect(try await file.send(batch(.delete, [record(.int(1)), record(.int(9))])) == [.succeeded, .succeeded])
        #expect(try await file.send(batch(.remove, [record(.int(2))])) == [.succeeded])
        #expect(try await file.send(batch(.clearFields, [record(.int(3))])) == [.succeeded])
        #expect(try await file.send(batch(.upsert, [record(.null, .string("x"), .string("y"))])).first != .succeeded)
      }
      #expect(try contents(destination.file) == "user_id,email,name\n3,,\n4,4@x,n4\n")

      let cleared = try await run(directory) { file async throws in try await file.clear() }
      #expect(try contents(cleared.file) == "user_id,email,name\n")
    }
  }

  @Test func aRecordWithTheWrongNumberOfValuesFailsAlone() async throws {
    try await withTemporaryDirectory { directory in
      _ = try await run(directory) { file async throws in
        let outcomes = try await file.send(
          batch(.upsert, [record(.int(1), .string("a@x")), record(.int(2), .string("b@x"), .string("Bob"))]))
        #expect(outcomes == [.failed("expected 2 field values, got 1"), .succeeded])
      }
    }
  }

  // MARK: Across runs

  @Test func aSecondRunReadsTheFirstsFileAndKeepsCreationOrder() async throws {
    try await withTemporaryDirectory { directory in
      try await run(directory) { file async throws in
        _ = try await file.send(batch(.upsert, ["b", "a", "c"].map { record(.string($0), .string("\($0)@x"), .string($0)) }))
      }
      let second = try await run(directory) { file async throws in
        #expect(try await file.send(batch(.update, [record(.string("a"), .string("a@y"), .string("A"))])) == [.succeeded])
        _ = try await file.send(batch(.delete, [record(.string("b"))]))
        _ = try await file.send(batch(.upsert, [record(.string("d"), .string("d@x"), .string("d")), record(.string("b"), .string("b@z"), .string("B"))]))
      }
      #expect(try contents(second.file) == "user_id,email,name\na,a@y,A\nc,c@x,c\nd,d@x,d\nb,b@z,B\n")
    }
  }

  @Test func keysReadBackAsTextMatchTypedKeys() async throws {
    try await withTemporaryDirectory { directory in
      try await run(directory) { file async throws in _ = try await file.send(batch(.upsert, [record(.int(42), .string("a"), .string("b"))])) }
      let second = try await run(directory) { file async throws in
        #expect(try await file.send(batch(.update, [record(.int(42), .string("c"), .string("d"))])) == [.succeeded])
      }
      #expect(try contents(second.file) == "user_id,email,name\n42,c,d\n")
    }
  }

  @Test func extraColumnsInTheFileAreKept() async throws {
    try await withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("paid_users.csv")
      try Data("note,user_id,name,email\nvip,1,Ada,a@x\n".utf8).write(to: url)
      try await run(directory) { file async throws in
        _ = try await file.send(batch(.upsert, [record(.int(1), .string("a@y"), .string("Ada")), record(.int(2), .string("b@x"), .string("Bob"))]))
      }
      #expect(try contents(url) == "note,user_id,name,email\nvip,1,Ada,a@y\n,2,Bob,b@x\n")
    }
  }

  @Test func aHeaderWithoutTheSyncsFieldsIsAnErrorNamingTheFile() async throws {
    try await withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("paid_users.csv")
      try Data("user_id,email\n1,a@x\n".utf8).write(to: url)
      let destination = FileDestination(directory: directory, format: .csv, target: target())
      await #expect {
        try await destination.prepare()
      } throws: { error in
        let message = (error as? DestinationError)?.message ?? ""
        return message.contains(url.path) && message.contains("has no column name")
          && message.contains("backflow resync paid_users_export")
      }
      try Data("user_id,email,name\n1,\"a\"x,b\n".utf8).write(to: url)
      await #expect(throws: DestinationError.self) { try await destination.prepare() }
    }
  }

  // MARK: Formats

  @Test func csvQuotingRoundTrips() async throws {
    try await withTemporaryDirectory { directory in
      let awkward: [(JSONValue, JSONValue)] = [
        (.string("a,b"), .string("say \"hi\"")),
        (.string("two\nlines"), .string("crlf\r\nend")),
        (.string(""), .null),
        (.string(" padded "), .string("é 😀")),
        (.int(5), .bool(true)),
        (.number("1.50"), .object([("a", .int(1))])),
      ]
      let first = try await run(directory) { file async throws in
        _ = try await file.send(
          batch(.upsert, awkward.enumerated().map { record(.string("k,\($0.offset)"), $0.element.0, $0.element.1) }))
      }
      let written = try contents(first.file)
      #expect(
        written == """
          user_id,email,name
          "k,0","a,b","say ""hi""\"
          "k,1","two
          lines","crlf\r
          end"
          "k,2","",
          "k,3", padded ,é 😀
          "k,4",5,true
          "k,5",1.50,"{""a"":1}"

          """)
      // A second run reads every field back and, touching one record, writes the rest unchanged.
      let second = try await run(directory) { file async throws in
        #expect(try await file.send(batch(.update, [record(.string("k,4"), .string("6"), .string("false"))])) == [.succeeded])
      }
      #expect(try contents(second.file) == written.replacingOccurrences(of: "\"k,4\",5,true", with: "\"k,4\",6,false"))
    }
  }

  @Test func jsonLinesKeepTypes() async throws {
    try await withTemporaryDirectory { directory in
      let values: [JSONValue] = [
        .int(-7), .number("123456789012345678901234.50"), .number("1e3"), .bool(false), .null, .string("tab\tquote\"é\u{1}"),
        .array([.int(1), .string("x")]), .object([("z", .int(1)), ("a", .null)]), .string(""),
      ]
      let typed = target(fields: ["value"])
      let first = try await run(directory, format: .jsonl, target: typed) { file async throws in
        _ = try await file.send(batch(.upsert, values.enumerated().map { record(.int($0.offset), $0.element) }))
      }
      let written = try contents(first.file)
      let lines = written.split(separator: "\n").map(String.init)
      #expect(lines.count == values.count)
      #expect(lines[0] == "{\"user_id\":0,\"value\":-7}")
      #expect(lines[1] == "{\"user_id\":1,\"value\":123456789012345678901234.50}")
      #expect(lines[4] == "{\"user_id\":4,\"value\":null}")
      #expect(lines[5] == "{\"user_id\":5,\"value\":\"tab\\tquote\\\"é\\u0001\"}")
      #expect(lines[7] == "{\"user_id\":7,\"value\":{\"z\":1,\"a\":null}}")

      // Read back by a second run: every value and every byte of the untouched records survive.
      let second = try await run(directory, format: .jsonl, target: typed) { file async throws in
        #expect(try await file.send(batch(.update, [record(.int(3), .bool(true))])) == [.succeeded])
      }
      #expect(
        try contents(second.file)
          == written.replacingOccurrences(of: "{\"user_id\":3,\"value\":false}", with: "{\"user_id\":3,\"value\":true}"))
    }
  }

  @Test func jsonLinesWithoutAFieldReadItAsNull() async throws {
    try await withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("paid_users.jsonl")
      try Data("{\"user_id\": 1, \"email\": \"a@x\", \"extra\": [1]}\r\n\n".utf8).write(to: url)
      try await run(directory, format: .jsonl) { file async throws in
        _ = try await file.send(batch(.upsert, [record(.int(2), .string("b@x"), .string("Bob"))]))
      }
      #expect(
        try contents(url)
          == "{\"user_id\":1,\"email\":\"a@x\",\"name\":null,\"extra\":[1]}\n{\"user_id\":2,\"email\":\"b@x\",\"name\":\"Bob\",\"extra\":null}\n")
      try Data("{\"user_id\": 1,}\n".utf8).write(to: url)
      let broken = FileDestination(directory: directory, format: .jsonl, target: target())
      await #expect {
        try await broken.prepare()
      } throws: { error in
        (error as? DestinationError)?.message.contains("\(url.path) line 1: expected a key") == true
      }
    }
  }

  // MARK: Writing

  @Test func writesAtomicallyAndLeavesNoTemporaryFile() async throws {
    try await withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("paid_users.csv")
      try Data("user_id,email,name\n1,a,b\n2,c,d\n3,e,f\n".utf8).write(to: url)
      let before = try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int

      // Batches change nothing on disk until finish.
      let destination = FileDestination(directory: directory, format: .csv, target: target())
      try await destination.prepare()
      _ = try await destination.send(batch(.delete, [record(.string("1")), record(.string("2"))]))
      #expect(try contents(url) == "user_id,email,name\n1,a,b\n2,c,d\n3,e,f\n")
      try await destination.finish()

      // The old file is replaced whole, by a new file (rename), not rewritten in place.
      #expect(try contents(url) == "user_id,email,name\n3,e,f\n")
      let after = try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int
      #expect(before != after)
      #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["paid_users.csv"])
    }
  }

  @Test func aRunThatChangesNothingLeavesTheFileAlone() async throws {
    try await withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("paid_users.csv")
      try Data("user_id,email,name\n1,\"a\",b\n".utf8).write(to: url)
      try await run(directory)
      #expect(try contents(url) == "user_id,email,name\n1,\"a\",b\n")
    }
  }

  @Test func aFailedWriteLeavesNoTemporaryFile() async throws {
    try await withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("paid_users.csv")
      let destination = FileDestination(directory: directory, format: .csv, target: target())
      try await destination.prepare()
      _ = try await destination.send(batch(.upsert, [record(.int(1), .string("a"), .string("b"))]))
      // A directory where the file should be: rename fails, and the temporary file goes away.
      try FileManager.default.createDirectory(at: url.appendingPathComponent("blocker"), withIntermediateDirectories: true)
      await #expect(throws: DestinationError.self) { try await destination.finish() }
      #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["paid_users.csv"])
    }
  }

  // MARK: Sweep

  @Test func sweepDeletesTheRecordsNotKept() async throws {
    try await withTemporaryDirectory { directory in
      try await run(directory) { file async throws in
        _ = try await file.send(batch(.upsert, ["a", "b", "c", "d"].map { record(.string($0), .string($0), .string($0)) }))
      }
      let mirror = try await run(directory, target: target(mode: .mirror)) { file async throws in
        let sweep = try await file.sweep()
        try await sweep.keep([.string("a")])
        _ = try await file.send(batch(.upsert, [record(.string("e"), .string("e"), .string("e"))]))
        try await sweep.keep([.string("c"), .string("e")])
        #expect(try await sweep.finish() == 2)
      }
      #expect(try contents(mirror.file) == "user_id,email,name\na,a,a\nc,c,c\ne,e,e\n")
    }
  }
}
