import CLibPQ

/// The rows of a `COPY … TO STDOUT` in text format, read from the server one at a time.
///
/// Holds one row at a time, so memory stays flat however large the export. Releasing the reader
/// before its end cancels the COPY and leaves the connection ready for the next command.
public final class PostgresCopyOut {
  /// Kept alive by the reader, since the COPY is still running on it.
  private let connection: PostgresConnection
  /// Set once the final result has been read: the connection is free again.
  private var isFinished = false

  init(connection: PostgresConnection) {
    self.connection = connection
  }

  deinit {
    // The caller stopped early; the rest of the COPY is cancelled so the connection stays usable.
    if !isFinished { _ = connection.finishCommand() }
  }

  /// The next row, each field as text or `nil` for NULL; `nil` once every row has been read.
  ///
  /// An error the server reports after sending some rows (a division by zero halfway through,
  /// say) is thrown by the call that would otherwise return `nil`.
  public func next() throws -> [String?]? {
    guard !isFinished else { return nil }
    var buffer: UnsafeMutablePointer<CChar>?
    let length = PQgetCopyData(connection.handle, &buffer, 0)
    if length > 0, let buffer {
      defer { PQfreemem(buffer) }
      return buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { bytes in
        Self.decodeRow(UnsafeBufferPointer(start: bytes, count: Int(length)))
      }
    }
    isFinished = true
    // -1 ends the data and -2 is a failure; either way the results that follow tell how it ended.
    let failure = length == -1 ? nil : PostgresError(lastErrorOf: connection.handle)
    if let error = connection.finishCommand() ?? failure { throw error }
    return nil
  }

  /// Decodes one line of COPY text format: fields split by tabs, `\N` for NULL, and backslash
  /// escapes, which may spell raw bytes (`\377`, `\xFF`), so the text is decoded last.
  ///
  /// A field without a backslash, the common case, becomes a `String` straight from the line.
  static func decodeRow(_ line: UnsafeBufferPointer<UInt8>) -> [String?] {
    let end = line.last == newline ? line.endIndex - 1 : line.endIndex
    var fields: [String?] = []
    fields.reserveCapacity(16)
    var start = line.startIndex
    while true {
      var index = start
      var escaped = false
      while index < end, line[index] != tab {
        // An escape covers the byte after the backslash, whatever it is.
        if line[index] == backslash {
          escaped = true
          index += 1
        }
        index += 1
      }
      index = min(index, end)
      if !escaped {
        fields.append(String(decoding: UnsafeBufferPointer(rebasing: line[start..<index]), as: UTF8.self))
      } else if index - start == 2, line[start + 1] == capitalN {
        // NULL is the unescaped marker itself; an escaped backslash followed by N is text.
        fields.append(nil)
      } else {
        fields.append(unescape(UnsafeBufferPointer(rebasing: line[start..<index])))
      }
      guard index < end else { break }
      start = index + 1
    }
    return fields
  }

  /// A field holding backslash escapes, decoded.
  private static func unescape(_ text: UnsafeBufferPointer<UInt8>) -> String {
    var field: [UInt8] = []
    field.reserveCapacity(text.count)
    var index = 0
    let end = text.count

    /// The value of up to `limit` digits in `radix` starting at `index`, which moves past them.
    func number(radix: Int, limit: Int) -> Int? {
      var value: Int?
      var count = 0
      while count < limit, index < end, let digit = Self.digit(text[index], radix: radix) {
        value = (value ?? 0) * radix + digit
        index += 1
        count += 1
      }
      return value
    }

    while index < end {
      let byte = text[index]
      index += 1
      guard byte == backslash, index < end else {
        field.append(byte)
        continue
      }
      let escaped = text[index]
      index += 1
      switch escaped {
      case UInt8(ascii: "b"): field.append(0x08)
      case UInt8(ascii: "f"): field.append(0x0C)
      case UInt8(ascii: "n"): field.append(0x0A)
      case UInt8(ascii: "r"): field.append(0x0D)
      case UInt8(ascii: "t"): field.append(0x09)
      case UInt8(ascii: "v"): field.append(0x0B)
      case UInt8(ascii: "0")...UInt8(ascii: "7"):
        index -= 1
        // Three octal digits reach 0o777; the server keeps the low byte, and so does this.
        field.append(UInt8(truncatingIfNeeded: number(radix: 8, limit: 3) ?? 0))
      case UInt8(ascii: "x"):
        // `\x` without a hex digit after it is just `x`, as the server reads it.
        field.append(number(radix: 16, limit: 2).map { UInt8(truncatingIfNeeded: $0) } ?? escaped)
      default:
        field.append(escaped)
      }
    }
    return String(decoding: field, as: UTF8.self)
  }

  private static func digit(_ byte: UInt8, radix: Int) -> Int? {
    let value: Int
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
    default: return nil
    }
    return value < radix ? value : nil
  }
}

private let tab = UInt8(ascii: "\t")
private let newline = UInt8(ascii: "\n")
private let backslash = UInt8(ascii: "\\")
private let capitalN = UInt8(ascii: "N")
