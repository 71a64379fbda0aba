import BackflowSources
import BackflowState

/// A model row with the fingerprint of the columns its sync uses.
public struct FingerprintedRow: Sendable, Equatable {
  public var key: String?
  public var fingerprint: String
  public var values: [FieldValue]

  public init(key: String?, fingerprint: String, values: [FieldValue]) {
    self.key = key
    self.fingerprint = fingerprint
    self.values = values
  }
}

/// Why a model row cannot be synced.
public enum RejectReason: String, Sendable, Equatable {
  case duplicateKey = "duplicate_key"
  case nullKey = "null_key"
}

/// How one model row or snapshot entry compares with the other side.
public enum RowComparison: Sendable, Equatable {
  case added(FingerprintedRow)
  case changed(FingerprintedRow, previous: String)
  case unchanged(FingerprintedRow)
  case removed(SnapshotEntry)
  case rejected(FingerprintedRow, RejectReason)
}

/// The CDC diff: a merge of model rows and snapshot entries, both sorted by their keys' UTF-8
/// bytes, holding one key's rows at a time, so memory does not grow with the model.
///
/// Rows sharing a key are planned once: the one with the smallest fingerprint, so that two plans
/// of the same data agree; the others are rejected. Rows with a NULL key are rejected.
public final class RowDiff {
  private let nextRow: () throws -> FingerprintedRow?
  private let nextEntry: () throws -> SnapshotEntry?
  private var lookahead: FingerprintedRow?
  private var modelEnded = false
  private var group: FingerprintedRow?
  private var entry: SnapshotEntry?
  private var entryRead = false
  private var lastEntryKey: String?
  private var lastModelKey: String?
  private var queue: [RowComparison] = []

  public init(
    rows nextRow: @escaping () throws -> FingerprintedRow?, snapshot nextEntry: @escaping () throws -> SnapshotEntry?
  ) {
    self.nextRow = nextRow
    self.nextEntry = nextEntry
  }

  public func next() throws -> RowComparison? {
    if !queue.isEmpty { return queue.removeFirst() }
    if group == nil { try readGroup() }
    if !queue.isEmpty { return queue.removeFirst() }
    if !entryRead { try advanceEntry() }
    switch (group, entry) {
    case (nil, nil):
      return nil
    case let (row?, nil):
      group = nil
      return .added(row)
    case let (nil, old?):
      try advanceEntry()
      return .removed(old)
    case let (row?, old?):
      let key = row.key ?? ""
      if KeyOrder.precedes(key, old.key) {
        group = nil
        return .added(row)
      }
      if KeyOrder.precedes(old.key, key) {
        try advanceEntry()
        return .removed(old)
      }
      group = nil
      try advanceEntry()
      return row.fingerprint == old.fingerprint ? .unchanged(row) : .changed(row, previous: old.fingerprint)
    }
  }

  /// Reads the next key's rows: keeps one, queues the rest (and any NULL keys) as rejected.
  private func readGroup() throws {
    // The key's first row; the array is filled only when the key repeats, so a model of unique
    // keys allocates nothing here.
    var single: FingerprintedRow?
    var members: [FingerprintedRow] = []
    while let row = try peekRow() {
      guard let key = row.key else {
        queue.append(.rejected(row, .nullKey))
        lookahead = nil
        continue
      }
      if let first = single?.key, !KeyOrder.equal(first, key) { break }
      if single == nil, let last = lastModelKey, !KeyOrder.precedes(last, key) {
        throw KeyOrder.unsorted("model", last, key)
      }
      if let first = single {
        if members.isEmpty { members.append(first) }
        members.append(row)
      } else {
        single = row
      }
      lookahead = nil
    }
    if members.isEmpty, let single {
      group = single
      lastModelKey = single.key
      return
    }
    guard let chosen = members.indices.min(by: { members[$0].fingerprint < members[$1].fingerprint }) else { return }
    group = members[chosen]
    lastModelKey = group?.key
    for (index, row) in members.enumerated() where index != chosen {
      queue.append(.rejected(row, .duplicateKey))
    }
  }

  private func peekRow() throws -> FingerprintedRow? {
    if lookahead == nil, !modelEnded {
      lookahead = try nextRow()
      modelEnded = lookahead == nil
    }
    return lookahead
  }

  private func advanceEntry() throws {
    entryRead = true
    entry = try nextEntry()
    if let key = entry?.key {
      if let last = lastEntryKey, !KeyOrder.precedes(last, key) { throw KeyOrder.unsorted("snapshot", last, key) }
      lastEntryKey = key
    }
  }
}

/// Keys compare by their UTF-8 bytes, as PostgreSQL's "C" collation and SQLite's BINARY do; Swift's
/// own `String` comparison would treat canonically equivalent keys as one.
enum KeyOrder {
  static func precedes(_ left: String, _ right: String) -> Bool {
    left.utf8.lexicographicallyPrecedes(right.utf8)
  }

  static func equal(_ left: String, _ right: String) -> Bool {
    left.utf8.elementsEqual(right.utf8)
  }

  /// The merge cannot work on rows out of order; say so rather than plan wrongly.
  static func unsorted(_ side: String, _ before: String, _ after: String) -> PlanError {
    PlanError("the \(side) returned key \"\(after)\" after \"\(before)\", out of byte order; the diff needs sorted keys")
  }
}

/// A planning failure that is not about one config value.
public struct PlanError: Error, CustomStringConvertible, Sendable {
  public let message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
