import Testing

@testable import BackflowPostgres

/// The server writes only some of the escapes COPY text format allows, so the rest are decoded
/// here from hand-written lines.
@Suite("COPY text format")
struct CopyTextFormatTests {
  private func decode(_ line: String) -> [String?] {
    Array(line.utf8).withUnsafeBufferPointer { PostgresCopyOut.decodeRow($0) }
  }

  @Test(
    "each escape decodes to its character or byte",
    arguments: [
      ("a\\tb\n", "a\tb"),
      ("\\b\\f\\n\\r\\t\\v\\\\", "\u{8}\u{c}\n\r\t\u{b}\\"),
      ("\\101\\60\\0618", "A0" + "18"),
      ("\\x41\\x4a\\x7", "AJ\u{7}"),
      ("\\xg\\q\\.", "xgq."),
      ("\\303\\251 \\xc3\\xA9", "é é"),
      ("\\N\\N", "NN"),
      ("trailing\\", "trailing\\"),
    ])
  func escapes(line: String, value: String) {
    #expect(decode(line) == [value])
  }

  @Test("tabs split fields, \\N alone is NULL, and the row's newline is dropped")
  func fields() {
    #expect(decode("1\t\\N\t\t\\\\N\n") == ["1", nil, "", "\\N"])
    #expect(decode("a\\\tb\tc") == ["a\tb", "c"])
    #expect(decode("\n") == [""])
    #expect(decode("\t\n") == ["", ""])
  }
}
