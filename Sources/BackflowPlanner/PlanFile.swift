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
  private var buffer = Data()
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
  }

  public func write(_ row: PlannedRow) throws {
    var members: [(String, JSONValue)] = [("sync", .string(sync))]
    switch row {
    case let .add(planned), let .change(planned), let .record(planned):
      let operation = if case .add = row { "add" } else if case .change = row { "change" } else { "record" }
      members += [
        ("op", .string(operation)), ("key", .string(planned.key ?? "")), ("fingerprint", .string(planned.fingerprint)),
        ("fields", fields(planned)),
      ]
    case let .unchanged(planned):
      members += [("op", .string("unchanged")), ("key", .string(planned.key ?? "")), ("fields", fields(planned))]
    case let .remove(entry):
      members += [
        ("op", .string("remove")), ("key", .string(entry.key)), ("fingerprint", .string(entry.fingerprint)),
        ("match", entry.matchValue.flatMap { try? JSONValue.parse($0) } ?? .null),
      ]
    case let .reject(planned, reason):
      members += [
        ("op", .string("reject")), ("key", planned.key.map(JSONValue.string) ?? .null),
        ("reason", .string(reason.rawValue)), ("fields", fields(planned)),
      ]
    }
    buffer.append(contentsOf: JSONValue.object(members).rendered(compact: true).utf8)
    buffer.append(0x0A)
    if buffer.count >= 1 << 20 { try flush() }
  }

  private func fields(_ row: FingerprintedRow) -> JSONValue {
    .object(zip(columns, row.values.map(\.json)).map { ($0, $1) })
  }

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
    var searched = start
    while true {
      if let newline = buffer[searched...].firstIndex(of: 0x0A) {
        defer { start = newline + 1 }
        return String(decoding: buffer[start..<newline], as: UTF8.self)
      }
      if ended {
        guard start < buffer.count else { return nil }
        defer { start = buffer.count }
        return String(decoding: buffer[start...], as: UTF8.self)
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
  private let prefix: String
  private let operations: [String]
  private var started = false

  /// `operations` are `op` values (`add`, `change`, `remove`, `record`, `reject`, `unchanged`); all
  /// when empty.
  public init(url: URL, sync: String, operations: [String] = []) throws {
    lines = try LineReader(url: url)
    _ = try lines.next()  // the header
    // PlanFileWriter writes `sync` then `op` first, compact.
    prefix = "{\"sync\":" + JSONValue.string(sync).rendered(compact: true) + ",\"op\":"
    self.operations = operations.map { JSONValue.string($0).rendered(compact: true) + "," }
  }

  public func next() throws -> JSONValue? {
    while let line = try lines.next() {
      guard line.hasPrefix(prefix) else {
        if started { return nil }  // a sync's rows are contiguous
        continue
      }
      started = true
      if !operations.isEmpty {
        let rest = line.utf8.dropFirst(prefix.utf8.count)
        guard operations.contains(where: { rest.starts(with: $0.utf8) }) else { continue }
      }
      return try JSONValue.parse(line)
    }
    return nil
  }
}
