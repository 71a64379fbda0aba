import BackflowConfig
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How a file destination writes its records.
public enum FileFormat: String, Sendable, Encodable, CaseIterable {
  /// With a header row.
  case csv
  /// One JSON object per line.
  case jsonl
}

/// A CSV or JSON Lines file under the destination's `dir`, named after the sync's `object`
/// (`object: paid_users` is `dir/paid_users.csv`). The file holds the destination's records as
/// a table keyed by the match field: `prepare` loads it, batches change it in memory, and
/// `finish` writes it whole to a temporary file beside it and renames that into place, so a
/// reader never sees half a file and a failed run leaves the previous file as it was.
public final class FileDestination: DestinationConnector, @unchecked Sendable {
  // @unchecked: the table is only touched under `lock`; batches may arrive concurrently.

  public let directory: URL
  public let format: FileFormat
  public let target: DestinationTarget

  private let lock = NSLock()
  private var table: FileTable?
  /// Whether the file must be written at finish: something changed, or it does not exist yet.
  private var needsWrite = false

  public init(directory: URL, format: FileFormat, target: DestinationTarget) {
    self.directory = directory
    self.format = format
    self.target = target
  }

  /// The file: `object` plus the format's extension, unless `object` already ends with it.
  public var file: URL {
    let suffix = "." + format.rawValue
    let name = target.object.hasSuffix(suffix) ? target.object : target.object + suffix
    return directory.appendingPathComponent(name)
  }

  public var writesAtFinish: Bool { true }

  public func prepare() async throws {
    let object = target.object
    guard !object.isEmpty, !object.contains("/"), object != ".", object != ".." else {
      throw DestinationError("object \"\(object)\" must be a file name without /, e.g. paid_users")
    }
    let url = file
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
    if exists, isDirectory.boolValue {
      throw DestinationError("\(url.path) is a directory; the file destination needs a file there")
    }
    let loaded: FileTable
    if exists {
      guard let data = FileManager.default.contents(atPath: url.path) else {
        throw DestinationError("cannot read \(url.path)")
      }
      guard let text = String(data: data, encoding: .utf8) else {
        throw DestinationError("\(url.path) is not UTF-8 text")
      }
      do {
        loaded = try read(text)
      } catch let error as DestinationError {
        throw DestinationError(
          "\(url.path) \(error.message); fix the file, or delete it and run `backflow resync \(target.syncName)` to write it anew")
      }
    } else {
      loaded = FileTable(target: target)
    }
    locked {
      table = loaded
      needsWrite = !exists
    }
  }

  public func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    try locked {
      guard table != nil else { throw DestinationError("the file destination was not prepared") }
      if !batch.records.isEmpty || batch.operation == .clear { needsWrite = true }
      guard let trace = target.trace else { return table?.apply(batch) ?? [] }
      let existed = batch.records.map { table?.row(matching: $0.key) != nil }
      let outcomes = table?.apply(batch) ?? []
      if let table { traceLines(of: batch, outcomes: outcomes, existed: existed, in: table, to: trace) }
      return outcomes
    }
  }

  /// Tells `trace` the line each record of `batch` now has in the file (or that it has none).
  private func traceLines(
    of batch: DestinationBatch, outcomes: [RecordOutcome], existed: [Bool], in table: FileTable,
    to trace: DestinationTrace
  ) {
    let path = file.path
    for (index, (record, outcome)) in zip(batch.records, outcomes).enumerated() {
      if case let .failed(reason) = outcome {
        trace(.result("error: \(reason)"))
        continue
      }
      let key = FileTable.keyText(record.key) ?? "null"
      switch batch.operation {
      case .delete, .remove:
        trace(.result(existed[index] ? "the line of \(key) is removed" : "no line has \(key); nothing to remove"))
      case .insert, .track:
        trace(.line(file: path, text: line(table.newRow(record), columns: table.columns)))
      case .upsert, .update, .add, .clearFields:
        if let row = table.row(matching: record.key) {
          trace(.line(file: path, text: line(row, columns: table.columns)))
        } else {
          trace(.result("no line has \(key)"))
        }
      case .clear:
        trace(.result("every line is removed"))
      }
    }
  }

  /// One record as its line in the file, without the line break.
  private func line(_ row: [JSONValue], columns: [String]) -> String {
    switch format {
    case .csv:
      String(CSVFile.line(row.map(CSVFile.text)).dropLast())
    case .jsonl:
      JSONValue.object(Array(zip(columns, row))).rendered(compact: true)
    }
  }

  public func clear() async throws {
    try locked {
      guard table != nil else { throw DestinationError("the file destination was not prepared") }
      table?.clear()
      needsWrite = true
    }
  }

  public func sweep() async throws -> any DestinationSweep {
    try locked {
      guard table != nil else { throw DestinationError("the file destination was not prepared") }
    }
    return FileSweep(destination: self)
  }

  /// Writes the file when anything changed (or it did not exist). Until this returns, every
  /// outcome `send` gave is provisional.
  public func finish() async throws {
    let pending: FileTable? = locked { needsWrite ? table : nil }
    guard let pending else { return }
    if let trace = target.trace {
      guard !trace.dryRun else {
        trace(.result("\(file.path) is not written (dry run)"))
        return
      }
      do {
        try write(pending)
      } catch let error as DestinationError {
        trace(.result("error: \(error.message)"))
        throw error
      }
      trace(.result("wrote \(file.path): \(plural(pending.count, "record"))"))
    } else {
      try write(pending)
    }
    locked { needsWrite = false }
  }

  /// Deletes the records whose match value is not in `kept`; the file changes at `finish`.
  fileprivate func removeAll(except kept: Set<String>) -> Int {
    locked {
      let removed = table?.removeAll(except: kept) ?? 0
      if removed > 0 { needsWrite = true }
      return removed
    }
  }

  private func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  // MARK: Reading

  private func read(_ text: String) throws -> FileTable {
    switch format {
    case .csv:
      let records = try CSVFile.records(text)
      guard let header = records.first else { return FileTable(target: target) }
      let columns = try header.enumerated().map { position, name in
        guard let name, !name.isEmpty else { throw DestinationError("has an empty column name in its header (column \(position + 1))") }
        return name
      }
      let rows = try records.dropFirst().enumerated().map { number, fields in
        guard fields.count == columns.count else {
          throw DestinationError("has \(fields.count) fields in record \(number + 1), but \(columns.count) columns in its header")
        }
        return fields.map { $0.map(JSONValue.string) ?? .null }
      }
      return try FileTable(columns: columns, records: rows, target: target)
    case .jsonl:
      let objects = try JSONLinesFile.records(text)
      // The sync's columns first, then others in the order they first appear.
      var columns = FileTable.required(by: target)
      for object in objects {
        for (key, _) in object where !columns.contains(key) { columns.append(key) }
      }
      let rows = objects.map { members in
        columns.map { column in members.first { $0.0 == column }?.1 ?? .null }
      }
      return try FileTable(columns: columns, records: rows, target: target)
    }
  }

  // MARK: Writing

  /// Writes `table` to a temporary file in the same directory, flushes it, and renames it over
  /// the file: rename within a directory is atomic, so readers see the old file or the new one.
  private func write(_ table: FileTable) throws {
    let url = file
    let manager = FileManager.default
    do {
      try manager.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw DestinationError("cannot create the directory \(directory.path): \(error.localizedDescription)")
    }
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
    guard manager.createFile(atPath: temporary.path, contents: nil) else {
      throw DestinationError("cannot create \(temporary.path) to write \(url.lastPathComponent)")
    }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      do {
        try writeRecords(of: table, to: handle)
        try handle.synchronize()
        try handle.close()
      } catch {
        try? handle.close()
        throw error
      }
      guard rename(temporary.path, url.path) == 0 else {
        throw DestinationError("cannot rename \(temporary.lastPathComponent) to \(url.path): \(String(cString: strerror(errno)))")
      }
    } catch {
      try? manager.removeItem(at: temporary)
      if let error = error as? DestinationError { throw error }
      throw DestinationError("cannot write \(url.path): \(error.localizedDescription)")
    }
  }

  private func writeRecords(of table: FileTable, to handle: FileHandle) throws {
    var buffer = ""
    buffer.reserveCapacity(1 << 20)
    func flush(force: Bool = false) throws {
      guard force || buffer.utf8.count >= 1 << 20 else { return }
      try handle.write(contentsOf: Data(buffer.utf8))
      buffer.removeAll(keepingCapacity: true)
    }
    let columns = table.columns
    switch format {
    case .csv:
      buffer += CSVFile.line(columns)
      for record in table.records {
        buffer += CSVFile.line(record.map(CSVFile.text))
        try flush()
      }
    case .jsonl:
      for record in table.records {
        buffer += JSONValue.object(Array(zip(columns, record))).rendered(compact: true)
        buffer += "\n"
        try flush()
      }
    }
    try flush(force: true)
  }
}

/// Mirror's first run on a file: collects the model's keys, then deletes every other record.
final class FileSweep: DestinationSweep, @unchecked Sendable {
  // @unchecked: `kept` is only touched under `lock`.
  private let destination: FileDestination
  private let lock = NSLock()
  private var kept = Set<String>()

  init(destination: FileDestination) {
    self.destination = destination
  }

  func keep(_ keys: [JSONValue]) async throws {
    let texts = keys.compactMap(FileTable.keyText)
    lock.withLock { kept.formUnion(texts) }
  }

  func finish() async throws -> Int {
    destination.removeAll(except: lock.withLock { kept })
  }
}
