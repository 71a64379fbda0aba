import CMariaDB

/// The rows of one statement, read from the server one at a time (`mysql_use_result`).
///
/// Holds one row at a time, so memory stays flat however large the result. Releasing the reader
/// before its end reads the rest of the result and throws it away, which leaves the connection
/// ready for the next statement.
public final class MySQLRows {
  /// Kept alive by the reader, since the statement is still sending rows on it.
  private let connection: MySQLConnection
  /// `nil` once every row has been read, or from the start for a statement without rows.
  private var result: UnsafeMutablePointer<MYSQL_RES>?
  /// The result's columns, known before the first row.
  public let columns: [MySQLColumn]
  /// The columns whose values are bytes, hex-encoded in rows.
  private let binaryColumns: [Bool]

  init(connection: MySQLConnection, result: UnsafeMutablePointer<MYSQL_RES>?) {
    self.connection = connection
    self.result = result
    if let result, let fields = mysql_fetch_fields(result) {
      let count = Int(mysql_num_fields(result))
      columns = (0..<count).map { MySQLColumn(field: fields[$0]) }
    } else {
      columns = []
    }
    binaryColumns = columns.map(\.isBinaryString)
  }

  deinit {
    // The caller stopped early: the rest is read and dropped, since Connector/C cannot skip it.
    if result != nil { try? finish() }
  }

  /// The next row, each value as text or `nil` for NULL; `nil` once every row has been read.
  ///
  /// Values of binary columns (`MySQLColumn.isBinaryString`) are `\x` and lowercase hex. An error
  /// the server reports after sending some rows (the query killed, a lost connection) is thrown
  /// by the call that would otherwise return `nil`.
  public func next() throws -> [String?]? {
    guard let result else { return nil }
    guard let row = mysql_fetch_row(result), let lengths = mysql_fetch_lengths(result) else {
      let failed = mysql_errno(connection.handle) != 0
      let error = failed ? connection.failure() : nil
      try finish()
      if let error { throw error }
      return nil
    }
    var values: [String?] = []
    values.reserveCapacity(binaryColumns.count)
    for (index, isBinary) in binaryColumns.enumerated() {
      guard let value = row[index] else {
        values.append(nil)
        continue
      }
      let bytes = UnsafeRawBufferPointer(start: value, count: Int(lengths[index]))
      values.append(isBinary ? Self.hex(bytes) : String(decoding: bytes, as: UTF8.self))
    }
    return values
  }

  /// Frees the result, which reads whatever rows are left, and reads any further results, so
  /// the connection can take the next statement.
  private func finish() throws {
    guard let result else { return }
    self.result = nil
    mysql_free_result(result)
    connection.isStreaming = false
    try connection.finishStatement()
  }

  /// `\x` and the bytes in lowercase hex, PostgreSQL's text form of bytea.
  static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: 2 + 2 * bytes.count) { buffer in
      buffer[0] = UInt8(ascii: "\\")
      buffer[1] = UInt8(ascii: "x")
      for (index, byte) in bytes.enumerated() {
        buffer[2 + 2 * index] = digits[Int(byte >> 4)]
        buffer[3 + 2 * index] = digits[Int(byte & 0x0F)]
      }
      return 2 + 2 * bytes.count
    }
  }
}
