import BackflowConfig
import BackflowPostgres
import BackflowSources
import BackflowState
import BackflowTestSupport
import Testing

@testable import BackflowPlanner

/// Fingerprints are md5 over PostgreSQL's row text, so the warehouse can compute the same ones.
@Suite("fingerprints")
struct FingerprintTests {
  @Test(arguments: [
    ("", "d41d8cd98f00b204e9800998ecf8427e"),
    ("abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("The quick brown fox jumps over the lazy dog", "9e107d9d372bb6826bd81d3542a419d6"),
    (String(repeating: "a", count: 1000), "cabe45dcc9ae5b66ba86600cca6b8ba8"),
  ])
  func md5MatchesTheReferenceVectors(input: String, digest: String) {
    #expect(MD5.hex(input) == digest)
  }

  /// Every length across the padding's edges (55, 56 and 64 bytes in a block), with multi-byte
  /// characters, digests as PostgreSQL's md5() does.
  @Test func md5MatchesPostgreSQLAtEveryLengthAcrossBlockEdges() throws {
    guard let url = TestEnvironment.postgresURL else { return }
    let connection = try PostgresConnection(conninfo: url)
    let text = String(repeating: "ab\tcdé日,\"x", count: 20)
    let rows = try connection.query(
      "SELECT n::text, md5(substr($1, 1, n)) FROM generate_series(0, 150) AS n", [text])
    #expect(rows.count == 151)
    for row in rows {
      let prefix = String(text.prefix(Int(row[0] ?? "") ?? 0))
      #expect(MD5.hex(prefix) == row[1], "length \(prefix.utf8.count)")
    }
  }

  @Test func recordTextQuotesAsPostgreSQLDoes() {
    #expect(Fingerprint.recordText([.integer(1), .string("a b"), .null, .string(""), .bool(true)]) == "(1,\"a b\",,\"\",t)")
    #expect(Fingerprint.recordText([.string("say \"hi\"\\"), .string("(x,y)")]) == "(\"say \"\"hi\"\"\\\\\",\"(x,y)\")")
    #expect(Fingerprint.recordText([]) == "()")
  }

  @Test("Swift's fingerprint equals md5(signature || E'\\n' || ROW(...)::text) in PostgreSQL")
  func fingerprintsMatchPostgreSQL() throws {
    guard let url = TestEnvironment.postgresURL else { return }
    let connection = try PostgresConnection(conninfo: url)
    let fingerprint = Fingerprint(signature: "c0ffee")
    let samples: [[FieldValue]] = [
      [.integer(42), .string("Ada"), .null],
      [.string(""), .string("tab\there"), .string("line\nbreak"), .string("quote\" and \\ backslash")],
      [.string("Zoë ✓ 日本"), .number("1.50"), .bool(false), .json("{\"a\": 1}")],
      [.string(" leading space"), .string("(parens)"), .string("a,b")],
      [],
    ]
    for values in samples {
      let parameters = values.map(\.text)
      let placeholders = parameters.indices.map { "$\($0 + 1)::text" }.joined(separator: ", ")
      let rowText = values.isEmpty ? "'()'" : "ROW(\(placeholders))::text"
      let sql = "SELECT md5('c0ffee' || E'\\n' || \(rowText))"
      let expected = try connection.query(sql, parameters).first?.first ?? nil
      #expect(fingerprint.of(values) == expected, "\(values)")
    }
  }

  @Test func mappingsInAnyOrderGiveTheSameSignatureAndAChangedMappingAnother() throws {
    func configuration(_ mappings: String) throws -> SyncConfiguration {
      try SyncConfiguration(json: .parse("{\"match\":{\"column\":\"email\",\"field\":\"email\"},\"mappings\":[\(mappings)]}"))
    }
    let a = "{\"from\":\"a\",\"to\":\"x\"}"
    let b = "{\"from\":\"b\",\"to\":\"y\"}"
    #expect(try configuration("\(a),\(b)").fingerprint == configuration("\(b),\(a)").fingerprint)
    #expect(try configuration("\(a),\(b)").fingerprint != configuration("\(a)").fingerprint)
  }
}
