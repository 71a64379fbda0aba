import BackflowConfig
import Foundation

/// Writes a plan file (`plan --out`): one JSON header line, then one JSON line per planned row.
///
/// The header is only known once every row is planned, so rows go to a temporary file first; the
/// plan file appears whole, by rename, or not at all.
public final class PlanFileWriter: PlannedRowSink {
  private let url: URL
  private let rowsURL: URL
  private let rows: FileHandle
  private var buffer: [UInt8] = []
  private var sync = ""
  private var columns: [String] = []

  public init(url: URL) throws {
    self.url = url
    rowsURL = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).rows.tmp")
    guard FileManager.default.createFile(atPath: rowsURL.path, contents: nil) else {
      throw PlanError("cannot write the plan file \(url.path): its directory is missing or not writable")
    }
    rows = try FileHandle(forWritingTo: rowsURL)
  }

  deinit {
    try? rows.close()
    try? FileManager.default.removeItem(at: rowsURL)
  }

  public func begin(sync: String, columns: [String]) throws {
    self.sync = sync
    self.columns = columns
    syncPrefix = Array(("{\"sync\":" + JSONValue.quoted(sync) + ",\"op\":").utf8)
    columnKeys = columns.map { Array((JSONValue.quoted($0) + ":").utf8) }
  }

  /// `{"sync":NAME,"op":`, and each column's `"NAME":`, rendered once per sync.
  private var syncPrefix: [UInt8] = []
  private var columnKeys: [[UInt8]] = []

  public func write(_ row: PlannedRow) throws {
    switch row {
    case let .add(planned), let .change(planned), let .record(planned):
      // The common rows are written straight as bytes, exactly as JSONValue renders them.
      let operation = if case .add = row { "add" } else if case .change = row { "change" } else { "record" }
      buffer.append(contentsOf: syncPrefix)
      Self.appendQuoted(operation, to: &buffer)
      buffer.append(contentsOf: #","key":"#.utf8)
      Self.appendQuoted(planned.key ?? "", to: &buffer)
      buffer.append(contentsOf: #","fingerprint":"#.utf8)
      Self.appendQuoted(planned.fingerprint, to: &buffer)
      buffer.append(contentsOf: #","fields":"#.utf8)
      appendFields(planned)
      buffer.append(UInt8(ascii: "}"))
    case let .unchanged(planned):
      buffer.append(contentsOf: syncPrefix)
      buffer.append(contentsOf: #""unchanged","key":"#.utf8)
      Self.appendQuoted(planned.key ?? "", to: &buffer)
      buffer.append(contentsOf: #","fields":"#.utf8)
      appendFields(planned)
      buffer.append(UInt8(ascii: "}"))
    case let .remove(entry):
      let members: [(String, JSONValue)] = [
        ("sync", .string(sync)), ("op", .string("remove")), ("key", .string(entry.key)),
        ("fingerprint", .string(entry.fingerprint)),
        ("match", entry.matchValue.flatMap { try? JSONValue.parse($0) } ?? .null),
      ]
      buffer.append(contentsOf: JSONValue.object(members).rendered(compact: true).utf8)
    case let .reject(planned, reason):
      let members: [(String, JSONValue)] = [
        ("sync", .string(sync)), ("op", .string("reject")), ("key", planned.key.map(JSONValue.string) ?? .null),
        ("reason", .string(reason.rawValue)), ("fields", fields(planned)),
      ]
      buffer.append(contentsOf: JSONValue.object(members).rendered(compact: true).utf8)
    }
    buffer.append(0x0A)
    if buffer.count >= 1 << 20 { try flush() }
  }

  private func fields(_ row: FingerprintedRow) -> JSONValue {
    .object(zip(columns, row.values.map(\.json)).map { ($0, $1) })
  }

  /// The row's values as a compact JSON object, as `fields(_:)` renders.
  private func appendFields(_ row: FingerprintedRow) {
    buffer.append(UInt8(ascii: "{"))
    for index in 0..<min(columnKeys.count, row.values.count) {
      let value = row.values[index]
      if index > 0 { buffer.append(UInt8(ascii: ",")) }
      buffer.append(contentsOf: columnKeys[index])
      switch value {
      case .null: buffer.append(contentsOf: "null".utf8)
      case let .bool(flag): buffer.append(contentsOf: (flag ? "true" : "false").utf8)
      case let .integer(number): buffer.append(contentsOf: String(number).utf8)
      case let .number(text): buffer.append(contentsOf: text.utf8)
      case let .string(text): Self.appendQuoted(text, to: &buffer)
      case .json: buffer.append(contentsOf: value.json.rendered(compact: true).utf8)
      }
    }
    buffer.append(UInt8(ascii: "}"))
  }

  /// `JSONValue.quoted`, byte by byte: every character it escapes is ASCII.
  static func appendQuoted(_ text: String, to buffer: inout [UInt8]) {
    buffer.append(UInt8(ascii: "\""))
    defer { buffer.append(UInt8(ascii: "\"")) }
    let utf8 = text.utf8
    func escaped(_ byte: UInt8) -> Bool { byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") }
    // Most text has nothing to escape: one copy.
    if !(utf8.withContiguousStorageIfAvailable { $0.contains(where: escaped) } ?? utf8.contains(where: escaped)) {
      buffer.append(contentsOf: utf8)
      return
    }
    for byte in utf8 {
      switch byte {
      case UInt8(ascii: "\""): buffer.append(contentsOf: #"\""#.utf8)
      case UInt8(ascii: "\\"): buffer.append(contentsOf: #"\\"#.utf8)
      case 0x0A: buffer.append(contentsOf: #"\n"#.utf8)
      case 0x0D: buffer.append(contentsOf: #"\r"#.utf8)
      case 0x09: buffer.append(contentsOf: #"\t"#.utf8)
      case 0..<0x20:
        buffer.append(contentsOf: #"\u00"#.utf8)
        buffer.append(hexDigit(byte >> 4))
        buffer.append(hexDigit(byte & 0x0F))
      default: buffer.append(byte)
      }
    }
  }

  private static func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? value + 0x30 : value + 0x57 }

  /// Writes the header for `plan` and puts the file in place.
  public func finish(_ plan: Plan, backflowVersion: String) throws {
    try flush()
    try rows.close()
    let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
    var header = plan.json(backflowVersion: backflowVersion, includingConfig: true)
    if case var .object(members) = header {
      members.append(("unchanged_rows", .bool(plan.includesUnchangedRows)))
      header = .object(members)
    }
    let line = header.rendered(compact: true) + "\n"
    try Data(line.utf8).write(to: partial)
    let output = try FileHandle(forWritingTo: partial)
    defer { try? output.close() }
    try output.seekToEnd()
    let input = try FileHandle(forReadingFrom: rowsURL)
    defer { try? input.close() }
    while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
    // rename(2) replaces an existing plan file in one step.
    guard rename(partial.path, url.path) == 0 else {
      throw PlanError("cannot write the plan file \(url.path): \(String(cString: strerror(errno)))")
    }
  }

  private func flush() throws {
    try rows.write(contentsOf: buffer)
    buffer.removeAll(keepingCapacity: true)
  }
}

/// Reads a plan file: its header, then its rows one line at a time.
public final class PlanFileReader {
  public let header: JSONValue
  private let lines: LineReader

  public init(url: URL) throws {
    lines = try LineReader(url: url)
    guard let first = try lines.next(), let header = try? JSONValue.parse(first),
      header["format_version"] == .int(Plan.formatVersion)
    else {
      throw PlanError("\(url.path) is not a Backflow plan file of format version \(Plan.formatVersion)")
    }
    self.header = header
  }

  /// The next planned row, as written.
  public func next() throws -> JSONValue? {
    try lines.next().map(JSONValue.parse)
  }
}

/// Lines of a file, read in chunks.
public final class LineReader {
  private let handle: FileHandle
  private var buffer: [UInt8] = []
  /// Where the next line starts in `buffer`; bytes before it are consumed.
  private var start = 0
  private var ended = false

  public init(url: URL) throws {
    handle = try FileHandle(forReadingFrom: url)
  }

  deinit {
    try? handle.close()
  }

  /// The next line without its newline; `nil` at the end.
  public func next() throws -> String? {
    try nextLine { String(decoding: $0, as: UTF8.self) }
  }

  /// The index of the first newline at or after `start`, found by memchr.
  private static func newline(in buffer: [UInt8], from start: Int) -> Int? {
    buffer.withUnsafeBufferPointer { bytes in
      guard start < bytes.count, let base = bytes.baseAddress,
        let found = memchr(base + start, 0x0A, bytes.count - start)
      else { return nil }
      return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
  }

  /// Hands the next line's bytes, without its newline, to `body`; `nil` at the end. The bytes
  /// are valid only inside `body`.
  public func nextLine<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
    var searched = start
    while true {
      if let newline = Self.newline(in: buffer, from: searched) {
        defer { start = newline + 1 }
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<newline])) }
      }
      if ended {
        guard start < buffer.count else { return nil }
        defer { start = buffer.count }
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start...])) }
      }
      // Drop consumed bytes only when reading more, so each byte moves at most once per chunk.
      buffer.removeSubrange(0..<start)
      start = 0
      searched = buffer.count
      if let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
        buffer.append(contentsOf: chunk)
      } else {
        ended = true
      }
    }
  }
}

/// One sync's rows of a plan file, optionally only some operations, read without parsing the
/// lines it skips.
public final class PlanFileRows {
  private let lines: LineReader
  private let prefix: [UInt8]
  private let operations: [[UInt8]]
  private var started = false

  /// `operations` are `op` values (`add`, `change`, `remove`, `record`, `reject`, `unchanged`); all
  /// when empty.
  public init(url: URL, sync: String, operations: [String] = []) throws {
    lines = try LineReader(url: url)
    _ = try lines.next()  // the header
    // PlanFileWriter writes `sync` then `op` first, compact.
    prefix = Array(("{\"sync\":" + JSONValue.string(sync).rendered(compact: true) + ",\"op\":").utf8)
    self.operations = operations.map { Array((JSONValue.string($0).rendered(compact: true) + ",").utf8) }
  }

  private enum Line {
    case row(JSONValue)
    case skipped
    case otherSync
  }

  public func next() throws -> JSONValue? {
    while let line = try lines.nextLine({ try classify($0) }) {
      switch line {
      case let .row(value): return value
      case .skipped: continue
      case .otherSync: if started { return nil }  // a sync's rows are contiguous
      }
    }
    return nil
  }

  private func classify(_ line: UnsafeBufferPointer<UInt8>) throws -> Line {
    guard line.starts(with: prefix) else { return .otherSync }
    started = true
    if !operations.isEmpty {
      let rest = UnsafeBufferPointer(rebasing: line[prefix.count...])
      guard operations.contains(where: { rest.starts(with: $0) }) else { return .skipped }
    }
    return .row(try JSONValue.parse(utf8: line))
  }
}
