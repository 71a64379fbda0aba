import CLibPQ

/// Rows sent to a running `COPY … FROM STDIN` in text format, buffered and passed to libpq in
/// chunks.
///
/// The server checks the rows as they arrive but reports a bad one only when the COPY ends, so
/// `finish` is where a type mismatch or constraint violation is thrown. Releasing the writer
/// before `finish` aborts the COPY (nothing it sent is kept) and leaves the connection usable.
public final class PostgresCopyIn {
  /// Kept alive by the writer, since the COPY is still running on it.
  private let connection: PostgresConnection
  /// Encoded rows not yet handed to libpq.
  private var buffer: [UInt8] = []
  /// Set once the COPY has ended, successfully or not: the connection is free again.
  private var isFinished = false

  /// Rows are handed to libpq once this many bytes are buffered: large enough that the per-call
  /// cost vanishes, small enough that memory stays flat however many rows are sent.
  static let chunkSize = 64 * 1024

  init(connection: PostgresConnection) {
    self.connection = connection
    buffer.reserveCapacity(Self.chunkSize + 1024)
  }

  deinit {
    // The caller gave up before `finish`: the server discards the COPY and the connection moves on.
    if !isFinished { abort() }
  }

  /// Sends one row, each field as text (`nil` for NULL) in the column order the COPY names.
  ///
  /// Throws only when libpq cannot send (the connection is gone); a value the server refuses is
  /// reported by `finish`.
  public func write(_ row: [String?]) throws {
    guard !isFinished else { throw PostgresError(message: "write() after the COPY ended") }
    Self.encodeRow(row, into: &buffer)
    if buffer.count >= Self.chunkSize { try flush() }
  }

  /// Ends the COPY and waits for the server's verdict: throws the server's error (a value of the
  /// wrong type, a violated constraint) when it refused the rows, none of which are then kept.
  public func finish() throws {
    guard !isFinished else { throw PostgresError(message: "finish() after the COPY ended") }
    do {
      try flush()
    } catch {
      abort()
      throw error
    }
    isFinished = true
    let handle = connection.handle
    guard PQputCopyEnd(handle, nil) == 1 else {
      let error = PostgresError(lastErrorOf: handle)
      _ = connection.finishCommand()
      throw error
    }
    if let error = connection.finishCommand() { throw error }
  }

  /// Hands the buffered rows to libpq, which in blocking mode waits until it has sent them.
  private func flush() throws {
    guard !buffer.isEmpty else { return }
    let handle = connection.handle
    let sent = buffer.withUnsafeBytes { bytes in
      PQputCopyData(
        handle, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(clamping: bytes.count)
      )
    }
    buffer.removeAll(keepingCapacity: true)
    guard sent == 1 else { throw PostgresError(lastErrorOf: handle) }
  }

  /// Ends the COPY with an error so the server keeps none of its rows, then reads what is left.
  private func abort() {
    isFinished = true
    buffer.removeAll()
    _ = PQputCopyEnd(connection.handle, "COPY abandoned by the client")
    _ = connection.finishCommand()
  }

  /// Appends one line of COPY text format: fields joined by tabs, `\N` for NULL, and the four
  /// characters that would end a field or a row (or start an escape) escaped.
  ///
  /// A NUL character, which text cannot hold, is sent as `\000` so the server refuses that value
  /// with its own message instead of the row being cut short.
  static func encodeRow(_ row: [String?], into buffer: inout [UInt8]) {
    for (index, field) in row.enumerated() {
      if index > 0 { buffer.append(tab) }
      guard let field else {
        buffer.append(backslash)
        buffer.append(capitalN)
        continue
      }
      let utf8 = field.utf8
      func escaped(_ byte: UInt8) -> Bool {
        byte == backslash || byte == tab || byte == newline || byte == carriageReturn || byte == 0
      }
      // Most fields have nothing to escape: one copy.
      if !(utf8.withContiguousStorageIfAvailable { $0.contains(where: escaped) } ?? utf8.contains(where: escaped)) {
        buffer.append(contentsOf: utf8)
        continue
      }
      for byte in utf8 {
        switch byte {
        case backslash:
          buffer.append(backslash)
          buffer.append(backslash)
        case tab:
          buffer.append(backslash)
          buffer.append(UInt8(ascii: "t"))
        case newline:
          buffer.append(backslash)
          buffer.append(UInt8(ascii: "n"))
        case carriageReturn:
          buffer.append(backslash)
          buffer.append(UInt8(ascii: "r"))
        case 0: buffer.append(contentsOf: [backslash, zero, zero, zero])
        default: buffer.append(byte)
        }
      }
    }
    buffer.append(newline)
  }
}

extension PostgresConnection {
  /// Starts `sql`, one `COPY … FROM STDIN` statement in text format (not CSV or binary), and
  /// returns the writer its rows go to; the connection must run nothing else until the writer
  /// finishes or is released.
  public func copyIn(_ sql: String) throws -> PostgresCopyIn {
    // PQexecParams, unlike PQexec, refuses a second statement hidden after the COPY.
    guard let result = PQexecParams(handle, sql, 0, nil, nil, nil, nil, 0) else {
      throw PostgresError(lastErrorOf: handle)
    }
    let status = PQresultStatus(result)
    let isBinary = PQbinaryTuples(result) == 1
    let error = status == PGRES_COPY_IN ? nil : PostgresError(result: result)
    PQclear(result)
    switch status {
    case PGRES_COPY_IN where !isBinary:
      return PostgresCopyIn(connection: self)
    case PGRES_COPY_IN:
      _ = PQputCopyEnd(handle, "copyIn() writes text format, not FORMAT binary")
      _ = finishCommand()
      throw PostgresError(message: "copyIn() writes text format, not FORMAT binary")
    case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_COPY_OUT, PGRES_COPY_BOTH:
      // Whatever ran instead is ended (a COPY cancelled) so the connection takes the next command.
      _ = finishCommand()
      throw PostgresError(message: "copyIn() needs a COPY … FROM STDIN statement")
    default:
      _ = finishCommand()
      throw error ?? PostgresError(lastErrorOf: handle)
    }
  }
}

private let tab = UInt8(ascii: "\t")
private let newline = UInt8(ascii: "\n")
private let carriageReturn = UInt8(ascii: "\r")
private let backslash = UInt8(ascii: "\\")
private let capitalN = UInt8(ascii: "N")
private let zero = UInt8(ascii: "0")
