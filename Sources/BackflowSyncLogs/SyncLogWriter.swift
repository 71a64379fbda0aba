import BackflowConfig
import BackflowSources
import Foundation

/// Writes runs into the warehouse: `sync_runs`, `sync_changelog` and `sync_snapshot`.
///
/// The connection opens on the first write and is kept for the writer's lifetime; after a failed
/// write it is dropped, and the next write connects again.
public final class SyncLogWriter {
  /// Where the tables are, as messages say it: the source and the schema, or on SQLite the
  /// tables' prefix.
  public let location: String
  private let secrets: [String]
  private let open: () throws -> any SyncLogStore
  private var store: (any SyncLogStore)?

  /// `open` connects to the source's database; the tables are created on the first write.
  /// `secrets` are texts of the source's settings that no message may show.
  public init(location: String, secrets: [String], open: @escaping () throws -> any SyncLogStore) {
    self.location = location
    self.secrets = secrets
    self.open = open
  }

  /// Writes one run in one transaction: its `sync_runs` row, one `sync_changelog` row per entry of
  /// `changelog`, and the sync's `sync_snapshot` replaced by the changelog's rows that are not
  /// removals plus the `unchanged` ones.
  ///
  /// Entries are pulled one at a time and never held, so a run of millions of rows writes in
  /// flat memory. `staged`: where the plan left the other unchanged rows, in the warehouse the
  /// logs are written to. Throws `SyncLogError`, after which nothing of this run is in the tables.
  public func write(
    _ run: SyncLogRun, changelog: () throws -> SyncLogEntry?, unchanged: () throws -> SyncLogEntry?,
    staged: WarehouseSnapshotRows? = nil
  ) throws {
    let syncID = String(run.run.syncID)
    let runID = String(run.run.id)
    do {
      let store = try self.store ?? open()
      self.store = store
      let row = try run.row()
      let changelogRow: () throws -> [String?]? = {
        guard let entry = try Self.next(changelog) else { return nil }
        guard entry.opType != .unchanged else {
          throw SyncLogError(
            "the changelog holds an unchanged row (\(entry.rowID ?? "NULL")); it takes added, changed and removed ones")
        }
        return entry.changelogRow(syncID: syncID, runID: runID)
      }
      let unchangedRow: () throws -> [String?]? = { try Self.next(unchanged)?.snapshotRow(syncID: syncID, as: .unchanged) }
      if let staged {
        try store.write(
          run: row, syncID: syncID, runID: runID, changelog: changelogRow, unchanged: unchangedRow, staged: staged)
      } else {
        try store.write(run: row, syncID: syncID, runID: runID, changelog: changelogRow, unchanged: unchangedRow)
      }
    } catch {
      // The connection may be gone or in a state no one should guess at; the next run reconnects.
      store = nil
      throw SyncLogError(
        "could not write the sync logs of run \(runID) (sync \(run.syncName)) to \(location): \(redacted("\(error)"))")
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
    var message = Redaction.redact(message)
    for secret in secrets where !secret.isEmpty {
      message = message.replacing(secret, with: Located<String>.redacted)
    }
    return message
  }
}
