import BackflowConfig
import BackflowSources
import BackflowState
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

  public func begin(sync: String, columns: [String], copy: TypedCopy?) throws {
    self.sync = sync
    self.columns = columns
    syncPrefix = Array(("{\"sync\":" + JSONValue.quoted(sync) + ",\"op\":").utf8)
    fieldsEncoder = PlanFileFields(columns: columns)
  }

  /// `{"sync":NAME,"op":`, rendered once per sync, and the sync's `fields` objects.
  private var syncPrefix: [UInt8] = []
  private var fieldsEncoder = PlanFileFields(columns: [])

  public func write(_ row: PlannedRow) throws {
    switch row {
    case let .add(planned), let .change(planned), let .record(planned), let .unchanged(planned):
      // The common rows are written straight as bytes, exactly as JSONValue renders them. An
      // unchanged row's fingerprint is what a typed copy checks before recording its values.
      let operation =
        switch row {
        case .add: "add"
        case .change: "change"
        case .record: "record"
        default: "unchanged"
        }
      buffer.append(contentsOf: syncPrefix)
      Self.appendQuoted(operation, to: &buffer)
      buffer.append(contentsOf: #","key":"#.utf8)
      Self.appendQuoted(planned.key ?? "", to: &buffer)
      buffer.append(contentsOf: #","fingerprint":"#.utf8)
      Self.appendQuoted(planned.fingerprint, to: &buffer)
      buffer.append(contentsOf: #","fields":"#.utf8)
      fieldsEncoder.append(planned.values, to: &buffer)
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

/// Reads a plan file's header; `PlanFileRows` reads its rows.
public struct PlanFileReader {
  public let header: JSONValue

  public init(url: URL) throws {
    guard let first = try LineReader(url: url).next(), let header = try? JSONValue.parse(first),
      header["format_version"] == .int(Plan.formatVersion)
    else {
      throw PlanError("\(url.path) is not a Backflow plan file of format version \(Plan.formatVersion)")
    }
    self.header = header
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

/// One sync's rows in a plan file.
public struct PlanFileSource: PlannedRowSource {
  public var url: URL
  public var sync: String

  public init(url: URL, sync: String) {
    self.url = url
    self.sync = sync
  }

  public func rows(_ operations: [String]) throws -> any PlannedRowReader {
    try PlanFileRows(url: url, sync: sync, operations: operations)
  }
}

/// One sync's rows of a plan file, optionally only some operations, decoded into the
/// `PlannedRow`s `PlanFileWriter` wrote, without parsing the lines it skips.
///
/// What the file does not hold reads back empty: the fingerprint of `reject` rows (apply does not
/// use it) and the key of an `unchanged` row with a NULL key (written as "").
public final class PlanFileRows: PlannedRowReader {
  private let lines: LineReader
  private let url: URL
  private let prefix: [UInt8]
  private let operations: [[UInt8]]
  private var started = false
  /// The model columns the rows' values follow, in order, as `PlanFileWriter.begin` was given
  /// them; learnt from the first row that has fields, and the same array after it, so comparing
  /// it with a copy is one pointer comparison.
  public private(set) var columns: [String] = []
  /// The columns' keys as the writer wrote them, for `PlanFileScanner`.
  private var columnKeys = PlanFileFields(columns: [])

  /// `operations` are `op` values (`add`, `change`, `remove`, `record`, `reject`, `unchanged`); all
  /// when empty.
  public init(url: URL, sync: String, operations: [String] = []) throws {
    self.url = url
    lines = try LineReader(url: url)
    _ = try lines.next()  // the header
    // PlanFileWriter writes `sync` then `op` first, compact.
    prefix = Array(("{\"sync\":" + JSONValue.string(sync).rendered(compact: true) + ",\"op\":").utf8)
    self.operations = operations.map { Array((JSONValue.string($0).rendered(compact: true) + ",").utf8) }
  }

  private enum Line {
    case row(PlannedRow)
    case skipped
    case otherSync
  }

  public func next() throws -> PlannedRow? {
    while let line = try lines.nextLine({ try classify($0) }) {
      switch line {
      case let .row(row): return row
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
    // The common rows are read from their bytes; the rest, and the first row with fields (which
    // gives the columns), as JSON.
    var scanner = PlanFileScanner(line, from: prefix.count)
    if let row = scanner.row(fields: columnKeys) { return .row(row) }
    return .row(try decode(JSONValue.parse(utf8: line)))
  }

  /// The typed row of one line, parsed as `JSONValue` (whose parser is the fast one).
  private func decode(_ line: JSONValue) throws -> PlannedRow {
    guard case let .object(members) = line, members.count >= 3, case let .string(operation) = members[1].1 else {
      throw damaged("a row without an operation")
    }
    var key: String?
    var fingerprint = ""
    var values: [FieldValue] = []
    var match: JSONValue = .null
    var reason: RejectReason?
    // The members the writer puts after `sync` and `op`, in its order; looked up by name so a
    // member's absence is not misread.
    for (name, value) in members.dropFirst(2) {
      switch name {
      case "key": if case let .string(text) = value { key = text }
      case "fingerprint": if case let .string(text) = value { fingerprint = text }
      case "fields": values = try self.values(of: value)
      case "match": match = value
      case "reason":
        if case let .string(text) = value { reason = RejectReason(rawValue: text) }
        if reason == nil { throw damaged("a reject row with an unknown reason") }
      default: break
      }
    }
    let row = FingerprintedRow(key: key, fingerprint: fingerprint, values: values)
    if let planned = PlannedRow(operation: operation, row) { return planned }
    switch operation {
    case "reject": return .reject(row, reason ?? .duplicateKey)
    case "remove":
      guard let key else { throw damaged("a remove row without a key") }
      return .remove(
        SnapshotEntry(key: key, fingerprint: fingerprint, matchValue: match == .null ? nil : match.rendered(compact: true)))
    default: throw damaged("a row of unknown operation \(JSONValue.quoted(operation))")
    }
  }

  /// A row's `fields` in `columns` order.
  private func values(of fields: JSONValue) throws -> [FieldValue] {
    guard case let .object(members) = fields else { throw damaged("a row whose fields are not an object") }
    if columns.isEmpty {
      columns = members.map(\.0)
      columnKeys = PlanFileFields(columns: columns)
    }
    // Every row of a sync names the same columns in the same order; a shorter row (the writer
    // stops at the fewer of columns and values) is the leading ones.
    guard members.count <= columns.count, zip(members, columns).allSatisfy({ $0.0 == $1 }) else {
      throw damaged("rows of one sync with different fields")
    }
    return members.map { FieldValue(json: $0.1) }
  }

  private func damaged(_ what: String) -> PlanError {
    PlanError("the plan file \(url.path) is damaged: it holds \(what)")
  }
}
