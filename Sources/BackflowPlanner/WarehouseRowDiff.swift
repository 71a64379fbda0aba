import BackflowSources
import BackflowState

/// A warehouse diff as `RowDiff` would compare it, in `RowDiff`'s order, less the unchanged rows
/// the warehouse kept: NULL-key rejections first, then per key its rejected repeats and the row
/// with the smallest fingerprint, or the entry that left the model. A warehouse whose
/// fingerprints are its own (Spark) only narrows the rows down: each row it returns is
/// fingerprinted here and compared with the state store's entry of its key, looked up with
/// `entries` for a window of rows read ahead at a time.
final class WarehouseRowDiff {
  private let stream: any WarehouseDiffStream
  private let fingerprint: Fingerprint
  private let entries: ([String]) throws -> [String: SnapshotEntry]
  /// The positions of the values the fingerprint covers; `nil` for all of them.
  private let usedIndexes: [Int]?
  /// Rows read from the stream, from `nextAhead` on not yet taken.
  private var ahead: [WarehouseDiffRow] = []
  private var nextAhead = 0
  /// The state store's entries of the keys in `ahead`, when the fingerprints are not Backflow's.
  private var known: [String: SnapshotEntry] = [:]
  private var queue: [RowComparison] = []
  private var lastKey: String?
  /// Rows read ahead: one state store query per this many returned rows.
  private let window: Int

  init(
    stream: any WarehouseDiffStream, fingerprint: Fingerprint, usedIndexes: [Int]? = nil, window: Int = 1_000,
    entries: @escaping ([String]) throws -> [String: SnapshotEntry]
  ) {
    self.stream = stream
    self.fingerprint = fingerprint
    self.usedIndexes = usedIndexes
    self.window = window
    self.entries = entries
  }

  /// How many rows the snapshot held.
  var snapshotRows: Int { stream.snapshotRows }
  /// Whether the warehouse compared the model with the sync's typed copy.
  var comparedWithCopy: Bool { stream.comparedWithCopy }

  func next() throws -> RowComparison? {
    if !queue.isEmpty { return queue.removeFirst() }
    guard let first = try read() else { return nil }
    guard !stream.fingerprintsAreBackflows else { return try compare(first) }
    return try classify(first)
  }

  /// The comparison of `first` (and its key's other rows) as the warehouse made it.
  private func compare(_ first: WarehouseDiffRow) throws -> RowComparison? {
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
      nextAhead += 1
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

  /// The comparison of `first` (and its key's other rows) with Backflow's fingerprints and the
  /// state store's entry, as `RowDiff` makes it: the smallest fingerprint is planned, the other
  /// rows of its key are rejected before it in fingerprint order.
  private func classify(_ first: WarehouseDiffRow) throws -> RowComparison? {
    guard let row = first.row else {
      guard let key = first.entryKey else {
        throw PlanError("the warehouse diff returned a row with neither a model row nor a snapshot entry")
      }
      try advance(to: key)
      // A key the copy holds and the state store does not has nothing to remove.
      guard let previous = known[key] else { return try next() }
      return .removed(previous)
    }
    guard let key = row.key else {
      return .rejected(FingerprintedRow(key: nil, fingerprint: fingerprint(of: row), values: row.values), .nullKey)
    }
    try advance(to: key)
    // Before reading on: the key's repeats may start the next window, which forgets this one's.
    let previous = known[key]
    var rows = [row]
    while let next = try peek(), let repeated = next.row, let repeatedKey = repeated.key, KeyOrder.equal(repeatedKey, key) {
      nextAhead += 1
      rows.append(repeated)
    }
    let fingerprinted = rows.map { FingerprintedRow(key: key, fingerprint: fingerprint(of: $0), values: $0.values) }
      .sorted { $0.fingerprint.utf8.lexicographicallyPrecedes($1.fingerprint.utf8) }
    queue += fingerprinted.dropFirst().map { .rejected($0, .duplicateKey) }
    let planned = fingerprinted[0]
    let comparison: RowComparison =
      switch previous?.fingerprint {
      case nil: .added(planned)
      case planned.fingerprint?: .unchanged(planned)
      case let previous?: .changed(planned, previous: previous)
      }
    queue.append(comparison)
    return queue.removeFirst()
  }

  /// Backflow's fingerprint of the row's values the sync uses.
  private func fingerprint(of row: ModelRow) -> String {
    fingerprint.of(usedIndexes.map { $0.map { row.values[$0] } } ?? row.values)
  }

  private func peek() throws -> WarehouseDiffRow? {
    if nextAhead == ahead.count { try readAhead() }
    return nextAhead < ahead.count ? ahead[nextAhead] : nil
  }

  private func read() throws -> WarehouseDiffRow? {
    defer { nextAhead = min(nextAhead + 1, ahead.count) }
    return try peek()
  }

  /// The next window of rows, and where the fingerprints are not Backflow's, the state store's
  /// entries of their keys in one look-up.
  private func readAhead() throws {
    ahead.removeAll(keepingCapacity: true)
    nextAhead = 0
    while ahead.count < window, let row = try stream.next() { ahead.append(row) }
    guard !stream.fingerprintsAreBackflows, !ahead.isEmpty else { return }
    known = try entries(ahead.compactMap { $0.row == nil ? $0.entryKey : $0.row?.key })
  }

  /// The warehouse sorts by bytes; a key out of order would mean a wrong diff, so it stops here.
  private func advance(to key: String) throws {
    if let last = lastKey, !KeyOrder.precedes(last, key) { throw KeyOrder.unsorted("warehouse diff", last, key) }
    lastKey = key
  }
}
