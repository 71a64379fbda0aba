import BackflowConfig
import BackflowPlanner
import BackflowSyncLogs
import Foundation

/// A run's changelog, one entry per planned row, kept in a temporary file while the run goes, so
/// the warehouse's `sync_changelog` is written in bulk afterwards without holding rows in memory.
final class ChangelogSpool {
  private let url: URL
  private let handle: FileHandle
  private let primaryKey: String
  private let matchColumn: String?
  private var buffer: [UInt8] = []
  private var writeError: (any Error)?

  /// The sync's primary key and match column name what a removed row's entry still knows of it.
  init(_ sync: Sync, configuration: SyncConfiguration) throws {
    primaryKey = configuration.primaryKey ?? ""
    matchColumn = sync.match?.column.value
    url = TemporaryFiles.url("changelog")
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
      throw ApplyError("cannot create a temporary file for the run's changelog in \(url.deletingLastPathComponent().path)")
    }
    handle = try FileHandle(forWritingTo: url)
  }

  deinit {
    try? handle.close()
    try? FileManager.default.removeItem(at: url)
  }

  /// Records what became of a planned row of the plan file, whose values follow `columns`; rows
  /// that are not operations (`record`, `unchanged`) are not part of a changelog.
  func append(planned row: PlannedRow, columns: [String], _ status: SyncLogEntry.Status, reason: String? = nil) {
    let opType: SyncLogEntry.OpType
    let key: String?
    switch row {
    case let .add(planned), let .reject(planned, _): (opType, key) = (.added, planned.key)
    case let .change(planned): (opType, key) = (.changed, planned.key)
    case let .remove(entry): (opType, key) = (.removed, entry.key)
    case .record, .unchanged: return
    }
    // One line per entry: op, status, key and reason as JSON, then the fields' JSON. JSON escapes
    // tabs and newlines inside strings, so tabs split the line unambiguously.
    buffer.append(contentsOf: "\(opType.rawValue)\t\(status.rawValue)\t".utf8)
    buffer.append(contentsOf: (key.map(JSONValue.quoted) ?? "null").utf8)
    buffer.append(0x09)
    buffer.append(contentsOf: (reason.map(JSONValue.quoted) ?? "null").utf8)
    buffer.append(0x09)
    switch row {
    case let .add(planned), let .change(planned), let .reject(planned, _):
      if columns != fields.columns { fields = PlanFileFields(columns: columns) }
      fields.append(planned.values, to: &buffer)
    case let .remove(entry):
      // The model row is gone; what the snapshot kept of it is its key and match value.
      buffer.append(contentsOf: "{\(JSONValue.quoted(primaryKey)):\(JSONValue.quoted(entry.key))".utf8)
      if let matchColumn { buffer.append(contentsOf: ",\(JSONValue.quoted(matchColumn)):\(entry.matchValue ?? "null")".utf8) }
      buffer.append(UInt8(ascii: "}"))
    case .record, .unchanged: break
    }
    buffer.append(0x0A)
    if buffer.count >= 1 << 20 { flush() }
  }

  /// The encoder of the columns rows came with last.
  private var fields = PlanFileFields(columns: [])

  /// Records every row `rows` has left as aborted: planned, never attempted.
  func appendAborted(_ rows: any PlannedRowReader) throws {
    while let row = try rows.next() { append(planned: row, columns: rows.columns, .aborted) }
  }

  /// Records every planned row of a sync as aborted: for a run that never started.
  func appendAborted(everyOperationOf sync: String, in planFile: URL) throws {
    try appendAborted(PlanFileRows(url: planFile, sync: sync, operations: ["remove", "add", "change", "reject"]))
  }

  /// The entries in the order they were appended.
  func entries() throws -> () throws -> SyncLogEntry? {
    flush()
    if let writeError { throw ApplyError("could not write the run's changelog to \(url.path): \(writeError)") }
    let lines = try LineReader(url: url)
    return { [url] in
      guard let line = try lines.next() else { return nil }
      let parts = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
      guard parts.count == 5, let opType = SyncLogEntry.OpType(rawValue: String(parts[0])),
        let status = SyncLogEntry.Status(rawValue: String(parts[1]))
      else { throw ApplyError("the run's changelog file \(url.path) is damaged") }
      func text(_ part: Substring) throws -> String? {
        if case let .string(value) = try JSONValue.parse(String(part)) { value } else { nil }
      }
      return SyncLogEntry(
        opType: opType, rowID: try text(parts[2]), status: status, failedReason: try text(parts[3]),
        fields: String(parts[4]))
    }
  }

  private func flush() {
    guard writeError == nil, !buffer.isEmpty else { return }
    do {
      try handle.write(contentsOf: buffer)
    } catch {
      writeError = error
    }
    buffer.removeAll(keepingCapacity: true)
  }
}
