import BackflowSources
import BackflowState

/// A warehouse diff as `RowDiff` would compare it, in `RowDiff`'s order, less the unchanged rows
/// the warehouse kept: NULL-key rejections first, then per key its rejected repeats and the row
/// with the smallest fingerprint, or the entry that left the model.
final class WarehouseRowDiff {
  private let stream: any WarehouseDiffStream
  private var lookahead: WarehouseDiffRow?
  private var queue: [RowComparison] = []
  private var lastKey: String?

  init(stream: any WarehouseDiffStream) {
    self.stream = stream
  }

  /// How many rows the snapshot held.
  var snapshotRows: Int { stream.snapshotRows }
  /// Whether the warehouse compared the model with the sync's typed copy.
  var comparedWithCopy: Bool { stream.comparedWithCopy }

  func next() throws -> RowComparison? {
    if !queue.isEmpty { return queue.removeFirst() }
    guard let first = try read() else { return nil }
    guard let row = first.row, let fingerprint = first.fingerprint else {
      // An entry whose key left the model.
      guard let key = first.entryKey, let entryFingerprint = first.entryFingerprint else {
        throw PlanError("the warehouse diff returned a row with neither a model row nor a snapshot entry")
      }
      try advance(to: key)
      return .removed(SnapshotEntry(key: key, fingerprint: entryFingerprint, matchValue: first.matchValue))
    }
    guard let key = row.key else {
      return .rejected(FingerprintedRow(key: nil, fingerprint: fingerprint, values: row.values), .nullKey)
    }
    try advance(to: key)
    // The warehouse sorts a key's rows by fingerprint: the first is planned, the rest repeat it.
    let planned = FingerprintedRow(key: key, fingerprint: fingerprint, values: row.values)
    while let next = try peek(), let repeated = next.row, let repeatedKey = repeated.key, next.fingerprint != nil,
      KeyOrder.equal(repeatedKey, key)
    {
      lookahead = nil
      queue.append(
        .rejected(FingerprintedRow(key: key, fingerprint: next.fingerprint ?? "", values: repeated.values), .duplicateKey))
    }
    let comparison: RowComparison =
      switch first.entryFingerprint {
      case nil: .added(planned)
      case fingerprint?: .unchanged(planned)
      case let previous?: .changed(planned, previous: previous)
      }
    queue.append(comparison)
    return queue.removeFirst()
  }

  private func peek() throws -> WarehouseDiffRow? {
    if lookahead == nil { lookahead = try stream.next() }
    return lookahead
  }

  private func read() throws -> WarehouseDiffRow? {
    defer { lookahead = nil }
    return try peek()
  }

  /// The warehouse sorts by bytes; a key out of order would mean a wrong diff, so it stops here.
  private func advance(to key: String) throws {
    if let last = lastKey, !KeyOrder.precedes(last, key) { throw KeyOrder.unsorted("warehouse diff", last, key) }
    lastKey = key
  }
}
