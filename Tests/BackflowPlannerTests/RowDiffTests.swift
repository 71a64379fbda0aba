import BackflowSources
import BackflowState
import Testing

@testable import BackflowPlanner

/// The CDC merge on its own: sorted model rows against a sorted snapshot.
@Suite("row diff")
struct RowDiffTests {
  func row(_ key: String?, _ fingerprint: String) -> FingerprintedRow {
    FingerprintedRow(key: key, fingerprint: fingerprint, values: [.string(fingerprint)])
  }

  func diff(_ rows: [FingerprintedRow], _ snapshot: [SnapshotEntry]) throws -> [RowComparison] {
    var rowIterator = rows.makeIterator()
    var entryIterator = snapshot.makeIterator()
    let diff = RowDiff(rows: { rowIterator.next() }, snapshot: { entryIterator.next() })
    var result: [RowComparison] = []
    while let next = try diff.next() { result.append(next) }
    return result
  }

  @Test func firstRunAddsEveryRow() throws {
    #expect(try diff([row("a", "1"), row("b", "2")], []) == [.added(row("a", "1")), .added(row("b", "2"))])
  }

  @Test func comparesByKeyAndFingerprint() throws {
    let result = try diff(
      [row("a", "1"), row("c", "3"), row("d", "4x"), row("f", "6")],
      [
        SnapshotEntry(key: "a", fingerprint: "1"), SnapshotEntry(key: "b", fingerprint: "2"),
        SnapshotEntry(key: "d", fingerprint: "4"), SnapshotEntry(key: "e", fingerprint: "5"),
        SnapshotEntry(key: "g", fingerprint: "7"),
      ])
    #expect(
      result == [
        .unchanged(row("a", "1")), .removed(SnapshotEntry(key: "b", fingerprint: "2")), .added(row("c", "3")),
        .changed(row("d", "4x"), previous: "4"), .removed(SnapshotEntry(key: "e", fingerprint: "5")),
        .added(row("f", "6")), .removed(SnapshotEntry(key: "g", fingerprint: "7")),
      ])
  }

  @Test func emptyModelRemovesEverything() throws {
    let snapshot = [SnapshotEntry(key: "a", fingerprint: "1"), SnapshotEntry(key: "b", fingerprint: "2")]
    #expect(try diff([], snapshot) == snapshot.map { .removed($0) })
  }

  @Test func duplicateKeysKeepTheSmallestFingerprintWhateverTheOrder() throws {
    for rows in [[row("a", "9"), row("a", "2"), row("a", "5")], [row("a", "5"), row("a", "9"), row("a", "2")]] {
      let result = try diff(rows + [row("b", "1")], [SnapshotEntry(key: "a", fingerprint: "2")])
      #expect(result.count == 4)
      #expect(result.contains(.unchanged(row("a", "2"))))
      #expect(result.filter { if case .rejected(_, .duplicateKey) = $0 { true } else { false } }.count == 2)
      #expect(result.last == .added(row("b", "1")))
    }
  }

  /// One order whatever the streams hold, which the warehouse diff reproduces with ORDER BY:
  /// NULL keys, then by key, a key's repeats (by fingerprint) right before its planned row.
  @Test func repeatsComeRightBeforeTheirKeysPlannedRow() throws {
    let result = try diff(
      [row(nil, "9"), row("b", "7"), row("b", "3"), row("b", "5")],
      [SnapshotEntry(key: "a", fingerprint: "1"), SnapshotEntry(key: "b", fingerprint: "3")])
    #expect(
      result == [
        .rejected(row(nil, "9"), .nullKey), .removed(SnapshotEntry(key: "a", fingerprint: "1")),
        .rejected(row("b", "5"), .duplicateKey), .rejected(row("b", "7"), .duplicateKey), .unchanged(row("b", "3")),
      ])
  }

  @Test func nullKeysAreRejectedAndNeverMatched() throws {
    let result = try diff([row(nil, "1"), row(nil, "2"), row("a", "3")], [SnapshotEntry(key: "a", fingerprint: "3")])
    #expect(result == [.rejected(row(nil, "1"), .nullKey), .rejected(row(nil, "2"), .nullKey), .unchanged(row("a", "3"))])
  }

  /// Keys order by bytes: "B" (0x42) before "a" (0x61), "10" before "9", and "é" composed or not
  /// are two keys, where Swift's String comparison would see one.
  @Test func keysCompareByBytes() throws {
    let composed = "\u{E9}"
    let decomposed = "e\u{301}"
    let keys = ["10", "9", "B", "a", composed, decomposed].sorted { KeyOrder.precedes($0, $1) }
    #expect(keys == ["10", "9", "B", "a", decomposed, composed])
    let result = try diff(keys.map { row($0, "x") }, [SnapshotEntry(key: composed, fingerprint: "x")])
    #expect(result.filter { if case .added = $0 { true } else { false } }.count == 5)
    #expect(result.contains(.unchanged(row(composed, "x"))))
  }

  @Test func unsortedInputIsAnErrorNotAWrongPlan() {
    #expect(throws: PlanError.self) { try diff([row("b", "1"), row("a", "1")], []) }
    #expect(throws: PlanError.self) {
      try diff([], [SnapshotEntry(key: "b", fingerprint: "1"), SnapshotEntry(key: "a", fingerprint: "1")])
    }
  }
}
