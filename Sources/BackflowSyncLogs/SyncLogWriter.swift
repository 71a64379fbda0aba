import BackflowConfig
import Foundation

/// Writes runs into the warehouse: `sync_runs`, `sync_changelog` and `sync_snapshot`.
///
/// The connection opens on the first write and is kept for the writer's lifetime; after a failed
/// write it is dropped, and the next write connects again.
public final class SyncLogWriter {
  private let source: Source
  private let schema: String
  private let directory: URL
  private var store: (any SyncLogStore)?

  /// Opens the source `logs` names; the tables are created on the first write.
  public init(logs: SyncLogs, project: Project, directory: URL) throws {
    guard let source = project.sources.first(where: { $0.name.value == logs.source.value }) else {
      throw SyncLogError("sync_logs.source \"\(logs.source.value)\" is not one of the sources in backflow.yaml")
    }
    self.source = source
    schema = logs.schema.value
    self.directory = directory
  }

  /// Where the tables are, as messages say it: the source and the schema, or on SQLite the
  /// tables' prefix.
  public var location: String {
    switch source.type.value {
    case .postgres: "source \"\(source.name.value)\", schema \(schema)"
    case .sqlite: "source \"\(source.name.value)\", tables \(schema)_sync_*"
    }
  }

  /// Writes one run in one transaction: its `sync_runs` row, one `sync_changelog` row per entry of
  /// `changelog`, and the sync's `sync_snapshot` replaced by the changelog's rows that are not
  /// removals plus the `unchanged` ones.
  ///
  /// Entries are pulled one at a time and never held, so a run of millions of rows writes in
  /// flat memory. Throws `SyncLogError`, after which nothing of this run is in the tables.
  public func write(
    _ run: SyncLogRun, changelog: () throws -> SyncLogEntry?, unchanged: () throws -> SyncLogEntry?
  ) throws {
    let syncID = String(run.run.syncID)
    let runID = String(run.run.id)
    do {
      let store = try self.store ?? open()
      self.store = store
      try store.write(
        run: try run.row(), syncID: syncID, runID: runID,
        changelog: {
          guard let entry = try Self.next(changelog) else { return nil }
          guard entry.opType != .unchanged else {
            throw SyncLogError(
              "the changelog holds an unchanged row (\(entry.rowID ?? "NULL")); it takes added, changed and removed ones"
            )
          }
          return entry.changelogRow(syncID: syncID, runID: runID)
        },
        unchanged: { try Self.next(unchanged)?.snapshotRow(syncID: syncID, as: .unchanged) })
    } catch {
      // The connection may be gone or in a state no one should guess at; the next run reconnects.
      store = nil
      throw SyncLogError(
        "could not write the sync logs of run \(runID) (sync \(run.syncName)) to \(location): \(redacted("\(error)"))")
    }
  }

  /// Opens the source's database.
  private func open() throws -> any SyncLogStore {
    switch source.type.value {
    case .postgres:
      return try PostgresSyncLogStore(conninfo: source.url?.value ?? "", schema: schema)
    case .sqlite:
      let path = source.path?.value ?? ""
      let url = directory.resolvingProjectPath(path)
      // As for models: a missing file is a mistaken path, not a database to create.
      guard FileManager.default.fileExists(atPath: url.path) else {
        throw SyncLogError("the SQLite database \(source.path?.isSecret == true ? "file" : path) does not exist")
      }
      return try SQLiteSyncLogStore(path: url.path, prefix: schema)
    }
  }

  /// The next entry from the engine; its failure is said to be in reading the run's rows.
  private static func next(_ entries: () throws -> SyncLogEntry?) throws -> SyncLogEntry? {
    do {
      return try entries()
    } catch let error as SyncLogError {
      throw error
    } catch {
      throw SyncLogError("could not read the run's rows: \(error)")
    }
  }

  /// Defence in depth: drivers do not echo connection strings, but a secret must never be shown.
  private func redacted(_ message: String) -> String {
    var message = message
    for value in [source.url, source.path].compactMap({ $0 }) where value.isSecret && !value.value.isEmpty {
      message = message.replacing(value.value, with: Located<String>.redacted)
    }
    return message
  }
}
