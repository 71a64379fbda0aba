import BackflowConfig

/// RFC 4180 CSV as the file destination writes and reads it: comma-separated, CRLF-free (`\n`
/// between records), fields quoted when they hold a comma, quote, CR or LF. NULL is an empty
/// field and the empty string a quoted empty field (`""`), as PostgreSQL's `COPY … CSV` writes
/// them, so reading back tells the two apart.
enum CSVFile {
  /// One field: `nil` is NULL.
  static func field(_ text: String?) -> String {
    guard let text else { return "" }
    if text.isEmpty { return "\"\"" }
    guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 })
    else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// One record's line, with its `\n`.
  static func line(_ fields: [String?]) -> String {
    var line = ""
    for (index, value) in fields.enumerated() {
      if index > 0 { line += "," }
      line += field(value)
    }
    return line + "\n"
  }

  /// A value as CSV text: strings as they are, numbers as printed, booleans as true/false,
  /// arrays and objects as compact JSON; NULL stays nil.
  static func text(_ value: JSONValue) -> String? {
    switch value {
    case .null: nil
    case let .string(text): text
    case let .bool(flag): flag ? "true" : "false"
    case let .int(number): String(number)
    case let .number(text): text
    case .double, .array, .object: value.rendered(compact: true)
    }
  }

  /// Every record of `text`; fields are nil for unquoted empty ones. Accepts `\n` and `\r\n`.
  static func records(_ text: String) throws -> [[String?]] {
    var records: [[String?]] = []
    var record: [String?] = []
    var field: [UInt8] = []
    var quoted = false
    var wasQuoted = false
    var atFieldStart = true
    let bytes = Array(text.utf8)
    var index = 0
    var line = 1
    func endField() {
      record.append(field.isEmpty && !wasQuoted ? nil : String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
      wasQuoted = false
      atFieldStart = true
    }
    func endRecord() {
      endField()
      records.append(record)
      record = []
    }
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      if quoted {
        if byte == UInt8(ascii: "\"") {
          if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            field.append(byte)
            index += 1
          } else {
            quoted = false
          }
        } else {
          if byte == 10 { line += 1 }
          field.append(byte)
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\"") where atFieldStart:
        quoted = true
        wasQuoted = true
        atFieldStart = false
      case UInt8(ascii: "\""):
        throw DestinationError("line \(line): a quote inside an unquoted field; quote the field and double the quote (\"\")")
      case UInt8(ascii: ","):
        endField()
      case 13 where index < bytes.count && bytes[index] == 10:
        break
      case 10:
        endRecord()
        line += 1
      default:
        if wasQuoted {
          throw DestinationError("line \(line): text after a quoted field's closing quote")
        }
        field.append(byte)
        atFieldStart = false
      }
    }
    if quoted { throw DestinationError("line \(line): a quoted field is not closed") }
    if !field.isEmpty || wasQuoted || !record.isEmpty { endRecord() }
    return records
  }
}
