import BackflowConfig

/// JSON Lines as the file destination reads it back: one object per line, keys in the order
/// written, and numbers kept as their text (`JSONValue.number`) unless they are whole and fit an
/// Int, so rewriting the file never changes a digit of a record the run did not touch.
enum JSONLinesFile {
  /// The objects of `text`, one per non-empty line, as (key, value) pairs in file order.
  static func records(_ text: String) throws -> [[(String, JSONValue)]] {
    var records: [[(String, JSONValue)]] = []
    // Split on bytes: "\r\n" is one Character, so splitting the String would miss CRLF lines.
    for (number, line) in text.utf8.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
      let bytes = Array(line)
      guard bytes.contains(where: { !Parser.isSpace($0) }) else { continue }
      var parser = Parser(bytes: bytes)
      do {
        guard case let .object(members) = try parser.document() else {
          throw DestinationError("expected a JSON object")
        }
        records.append(members)
      } catch let error as DestinationError {
        throw DestinationError("line \(number + 1): \(error.message)")
      }
    }
    return records
  }

  /// A small JSON parser that keeps key order and number text, which `JSONDecoder` does not.
  struct Parser {
    let bytes: [UInt8]
    var index = 0

    static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }

    mutating func document() throws -> JSONValue {
      let value = try self.value(depth: 0)
      skipSpace()
      guard index == bytes.count else { throw failure("text after the JSON value") }
      return value
    }

    private func failure(_ message: String) -> DestinationError {
      DestinationError("\(message) at byte \(index + 1)")
    }

    private mutating func skipSpace() {
      while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
    }

    private mutating func take(_ literal: String) -> Bool {
      let expected = Array(literal.utf8)
      guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else { return false }
      index += expected.count
      return true
    }

    private mutating func value(depth: Int) throws -> JSONValue {
      guard depth < 512 else { throw failure("JSON nested too deeply") }
      skipSpace()
      guard index < bytes.count else { throw failure("unexpected end of line") }
      switch bytes[index] {
      case UInt8(ascii: "{"):
        index += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
          index += 1
          return .object(members)
        }
        while true {
          skipSpace()
          guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key") }
          let key = try string()
          skipSpace()
          guard take(":") else { throw failure("expected :") }
          members.append((key, try value(depth: depth + 1)))
          skipSpace()
          if take(",") { continue }
          if take("}") { return .object(members) }
          throw failure("expected , or }")
        }
      case UInt8(ascii: "["):
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if take("]") { return .array(items) }
        while true {
          items.append(try value(depth: depth + 1))
          skipSpace()
          if take(",") { continue }
          if take("]") { return .array(items) }
          throw failure("expected , or ]")
        }
      case UInt8(ascii: "\""):
        return .string(try string())
      case UInt8(ascii: "t") where take("true"): return .bool(true)
      case UInt8(ascii: "f") where take("false"): return .bool(false)
      case UInt8(ascii: "n") where take("null"): return .null
      default:
        return try number()
      }
    }

    private mutating func number() throws -> JSONValue {
      let start = index
      func digits() -> Int {
        let from = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - from
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
      guard digits() > 0 else { throw failure("expected a value") }
      var whole = true
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        whole = false
        guard digits() > 0 else { throw failure("expected digits after .") }
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
        index += 1
        whole = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { throw failure("expected an exponent") }
      }
      let text = String(decoding: bytes[start..<index], as: UTF8.self)
      if whole, let number = Int(text) { return .int(number) }
      return .number(text)
    }

    private mutating func string() throws -> String {
      index += 1
      var output: [UInt8] = []
      while index < bytes.count {
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""):
          return String(decoding: output, as: UTF8.self)
        case UInt8(ascii: "\\"):
          guard index < bytes.count else { throw failure("unfinished escape") }
          let escape = bytes[index]
          index += 1
          switch escape {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
          case UInt8(ascii: "b"): output.append(8)
          case UInt8(ascii: "f"): output.append(12)
          case UInt8(ascii: "n"): output.append(10)
          case UInt8(ascii: "r"): output.append(13)
          case UInt8(ascii: "t"): output.append(9)
          case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar), take("\\u") {
              let low = try hex4()
              guard (0xDC00..<0xE000).contains(low) else { throw failure("invalid surrogate pair") }
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
            output.append(contentsOf: Array(String(Character(unicode)).utf8))
          default:
            throw failure("invalid escape \\\(Character(Unicode.Scalar(escape)))")
          }
        default:
          guard byte >= 0x20 else { throw failure("control character in a string") }
          output.append(byte)
        }
      }
      throw failure("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
      guard bytes.count - index >= 4 else { throw failure("short \\u escape") }
      var value: UInt32 = 0
      for _ in 0..<4 {
        let byte = bytes[index]
        index += 1
        let digit: UInt32
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
        default: throw failure("invalid \\u escape")
        }
        value = value * 16 + digit
      }
      return value
    }
  }
}
