import CMariaDB

extension MySQLConnection {
  /// `name` as a MySQL identifier: in backticks, a backtick inside doubled. Backticks quote
  /// whatever the session's SQL mode (ANSI_QUOTES only changes what double quotes mean).
  public static func quoteIdentifier(_ name: String) -> String {
    "`" + name.replacing("`", with: "``") + "`"
  }

  /// `value` as a string literal in single quotes, escaped by Connector/C
  /// (`mysql_real_escape_string`) for this session's character set and SQL mode: backslashes
  /// and quotes are escaped with backslashes, or quotes doubled under NO_BACKSLASH_ESCAPES.
  public func quoteLiteral(_ value: String) throws -> String {
    let count = value.utf8.count
    // Every byte may need escaping, plus the terminating NUL.
    var escaped = [CChar](repeating: 0, count: 2 * count + 1)
    let length = value.withCString { text in
      mysql_real_escape_string(handle, &escaped, text, UInt(count))
    }
    guard length != UInt.max else {
      throw MySQLError(message: "MariaDB Connector/C could not escape a string literal")
    }
    let bytes = escaped[..<Int(length)].map { UInt8(bitPattern: $0) }
    return "'" + String(decoding: bytes, as: UTF8.self) + "'"
  }
}
