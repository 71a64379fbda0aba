import BackflowConfig
import Testing

/// The JSON reader plan files and HTTP answers go through.
@Suite("JSON values")
struct JSONValueTests {
  @Test func membersKeepTheirOrderAndNumbersTheirDigits() throws {
    let value = try JSONValue.parse(#" {"z": 1, "a": [true, false, null], "n": 12345678901234567890.123456789, "e": -1.5e3, "i": -42} "#)
    guard case let .object(members) = value else {
      Issue.record("not an object: \(value)")
      return
    }
    #expect(members.map(\.0) == ["z", "a", "n", "e", "i"])
    #expect(value["n"].map { $0.rendered(compact: true) } == "12345678901234567890.123456789")
    #expect(value["i"].map { $0.rendered() } == "-42")
    #expect(value["a"] == .array([.bool(true), .bool(false), .null]))
    #expect(value["e"] == .double(-1500))
  }

  @Test(arguments: ["plain", "tab\there", "quote\" and \\ backslash", "line\nbreak", "é ✓ 𝄞", "\u{1}control", ""])
  func stringsRoundTrip(text: String) throws {
    let rendered = JSONValue.object([("k", .string(text))]).rendered(compact: true)
    #expect(try JSONValue.parse(rendered)["k"] == .string(text))
  }

  @Test func escapesIncludingSurrogatePairsAreDecoded() throws {
    #expect(try JSONValue.parse(#""\u00e9\ud834\udd1e\/\b\f""#) == .string("é𝄞/\u{8}\u{C}"))
  }

  /// Found by `make fuzz`: a high surrogate followed by an escape that is not a low one crashed
  /// the reader (the pair's sum overflowed); now each is read on its own.
  @Test func aHighSurrogateWithoutItsLowHalfIsReplaced() throws {
    #expect(try JSONValue.parse(#""\udbdd\udbdd""#) == .string("\u{FFFD}\u{FFFD}"))
    #expect(try JSONValue.parse(#""\ud834\u0041""#) == .string("\u{FFFD}A"))
  }

  /// Found by `make fuzz` (result-path): an object naming a member twice was unequal to itself.
  /// Objects compare member by member in any order, each name's first member counting, as
  /// `subscript` reads them.
  @Test func objectsCompareByEachNamesFirstMember() throws {
    let twice = try JSONValue.parse(#"{"a": 1, "b": 2, "a": 3}"#)
    #expect(twice == twice)
    #expect(twice == .object([("b", .int(2)), ("a", .int(1))]))
    #expect(twice != .object([("a", .int(3)), ("b", .int(2))]))
    #expect(JSONValue.object([("a", .int(1))]) != .object([("a", .int(1)), ("c", .null)]))
  }

  @Test(arguments: ["", "{", #"{"a" 1}"#, "[1,]", "tru", #""open"#, "1 2", "{\"a\":1,}", "-"])
  func malformedDocumentsAreErrors(text: String) {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
  }
}
