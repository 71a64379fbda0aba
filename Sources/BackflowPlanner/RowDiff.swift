import BackflowConfig

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
/// bytes, holding one key's rows at a time, so memory does not depend on the model's size.
///
/// Rows sharing a key are planned once: the one with the smallest fingerprint, so that two plans
/// of the same data agree; the others are rejected. Rows with a NULL key are rejected.
///
/// Comparisons come in one order whatever the streams hold (the warehouse diff produces the same):
/// NULL-key rejections first, then by key; a key's rejected duplicates (by fingerprint) come
/// right before its planned row.
public final class RowDiff {
  private let nextRow: () throws -> FingerprintedRow?
  private let nextEntry: () throws -> SnapshotEntry?
  private var lookahead: FingerprintedRow?
  private var modelEnded = false
  /// The next key's planned row, and the rows rejected as its duplicates.
  private var group: FingerprintedRow?
  private var duplicates: [FingerprintedRow] = []
  private var nullKeys: [FingerprintedRow] = []
  private var entry: SnapshotEntry?
  private var entryRead = false
  private var lastEntryKey: String?
  private var lastModelKey: String?

  public init(
    rows nextRow: @escaping () throws -> FingerprintedRow?, snapshot nextEntry: @escaping () throws -> SnapshotEntry?
  ) {
    self.nextRow = nextRow
    self.nextEntry = nextEntry
  }

  public func next() throws -> RowComparison? {
    if group == nil { try readGroup() }
    if !nullKeys.isEmpty { return .rejected(nullKeys.removeFirst(), .nullKey) }
    if !entryRead { try advanceEntry() }
    if let old = entry, group.map({ KeyOrder.precedes(old.key, $0.key ?? "") }) ?? true {
      try advanceEntry()
      return .removed(old)
    }
    if !duplicates.isEmpty { return .rejected(duplicates.removeFirst(), .duplicateKey) }
    guard let row = group else { return nil }
    group = nil
    guard let old = entry, KeyOrder.equal(old.key, row.key ?? "") else { return .added(row) }
    try advanceEntry()
    return row.fingerprint == old.fingerprint ? .unchanged(row) : .changed(row, previous: old.fingerprint)
  }

  /// Reads the next key's rows: keeps the one with the smallest fingerprint, holds the rest (and
  /// any NULL keys) as rejected.
  private func readGroup() throws {
    // The key's first row; the array is filled only when the key repeats, so a model of unique
    // keys allocates nothing here.
    var single: FingerprintedRow?
    var members: [FingerprintedRow] = []
    while let row = try peekRow() {
      guard let key = row.key else {
        nullKeys.append(row)
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
    if members.isEmpty {
      group = single
      if let single { lastModelKey = single.key }
      return
    }
    // Stable, so rows whose fingerprints tie (the same values) keep the model's order.
    let sorted = members.enumerated().sorted { ($0.element.fingerprint, $0.offset) < ($1.element.fingerprint, $1.offset) }
    group = sorted[0].element
    duplicates = sorted.dropFirst().map(\.element)
    lastModelKey = group?.key
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
public struct PlanError: Failure {
  public let message: String
  public var kind: FailureKind

  public init(_ message: String, kind: FailureKind = .configuration) {
    self.message = message
    self.kind = kind
  }
}
