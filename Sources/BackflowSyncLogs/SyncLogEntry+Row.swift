extension SyncLogEntry {
  /// The entry's `sync_changelog` row, in `SyncLogTable.changelog.columns` order.
  func changelogRow(syncID: String, runID: String) -> [String?] {
    [syncID, runID, opType.rawValue, rowID, status.rawValue, failedReason, fields]
  }

  /// The entry's `sync_snapshot` row, in `SyncLogTable.snapshot.columns` order, as `opType`.
  func snapshotRow(syncID: String, as opType: OpType) -> [String?] {
    [syncID, opType.rawValue, rowID, status.rawValue, failedReason, fields]
  }
}
