import BackflowState

extension ErrorReport {
  /// The latest finished run of each of `records` that sent rows, and the newer runs that sent
  /// none and were passed over: the runs `backflow errors` and the web UI's errors page read.
  static func latestRuns(of records: [SyncRecord], in state: StateStore) throws -> (
    read: [RunRecord], passedOver: [RunRecord]
  ) {
    let ids = records.map(\.id)
    let newest = try state.latestFinishedRuns(syncIDs: ids)
    let sending = try state.latestFinishedRuns(syncIDs: ids, sendingRows: true)
    // A sync none of whose runs sent rows has failed nothing yet: its newest run is read.
    let read = newest.map { run in sending.first { $0.syncID == run.syncID } ?? run }
    return (read, newest.filter { run in !read.contains { $0.id == run.id } })
  }
}
