import BackflowConfig
import BackflowSources
import BackflowSyncLogs
import Foundation

/// One kind of source: its config (`SourceDriver`) and how it opens what reads and writes it.
public protocol SourceConnectorDriver: SourceDriver {
  /// Connects for reading models; a relative path resolves against the project `directory`.
  func modelReader(for source: Source, in directory: URL) throws -> any ModelReader
  /// Connects for writing the sync logs into `schema`.
  func syncLogStore(for source: Source, schema: String, in directory: URL) throws -> any SyncLogStore
  /// Where the sync-log tables are, as messages say it.
  func syncLogLocation(of source: Source, schema: String) -> String
  /// Connects for writing the copies of the snapshots that warehouse planning diffs against;
  /// `nil` when the source has no `planning:`.
  func planningSnapshots(for source: Source, in directory: URL) throws -> PlanningCopy?
}

extension SourceConnectorDriver {
  public func planningSnapshots(for source: Source, in directory: URL) throws -> PlanningCopy? { nil }
}
