import BackflowPostgres

/// A source that can diff a model against a sync's snapshot kept in its own database, so that
/// only the rows that differ leave it.
public protocol WarehouseDiffing: ModelReader {
  /// Whether this source's connection reaches the database of the session `mark` names and may
  /// read `table` there.
  func reaches(_ mark: PostgresSessionMark, reading table: String) throws -> Bool

  /// Diffs the model against a sync's snapshot, fingerprinting `columns` with `signature` as
  /// `Fingerprint` does. The state store says how to read the snapshot (`WarehouseSnapshot`), so
  /// its tables and columns are named in one place.
  ///
  /// The stream holds every model row whose key is NULL, repeated, absent from the snapshot or
  /// whose fingerprint differs from its entry's, and every entry whose key left the model: not
  /// the rows whose fingerprint matches, which only `snapshotRows` counts. `relation` is the
  /// model's table when it is one: a unique index on the key spares the search for repeats.
  func diff(
    _ model: ModelSQL, relation: String?, key: String, columns: [String], signature: String, snapshot: WarehouseSnapshot
  ) throws -> any WarehouseDiffStream
}

/// How a source reads one sync's snapshot from the state store's tables in its database.
public struct WarehouseSnapshot: Sendable {
  /// A query of the sync's entries with the columns `row_key`, `fingerprint` and `match_value`.
  public var entries: String
  /// A query of one row and column: how many entries the sync has.
  public var count: String

  public init(entries: String, count: String) {
    self.entries = entries
    self.count = count
  }
}

/// The rows of a warehouse diff, sorted by their key's bytes (NULL keys first), then fingerprint.
public protocol WarehouseDiffStream: AnyObject {
  /// How many rows the snapshot held when the diff ran.
  var snapshotRows: Int { get }
  /// Whether the fingerprints are Backflow's, as the state store holds them; `false` where the
  /// warehouse cannot compute those and compares fingerprints of its own (Spark), so its diff
  /// only narrows the rows down and Backflow classifies them (docs/decisions.md, "Planning").
  var fingerprintsAreBackflows: Bool { get }
  func next() throws -> WarehouseDiffRow?
}

extension WarehouseDiffStream {
  public var fingerprintsAreBackflows: Bool { true }
}

/// A model row joined with the snapshot entry of its key; either side may be missing.
public struct WarehouseDiffRow: Sendable, Equatable {
  /// The model row, with the fingerprint the warehouse computed; `nil` for an entry whose key
  /// left the model.
  public var row: ModelRow?
  public var fingerprint: String?
  /// The snapshot entry's key, fingerprint and match value; `nil` when the key is new.
  public var entryKey: String?
  public var entryFingerprint: String?
  public var matchValue: String?

  public init(
    row: ModelRow?, fingerprint: String?, entryKey: String?, entryFingerprint: String?, matchValue: String?
  ) {
    self.row = row
    self.fingerprint = fingerprint
    self.entryKey = entryKey
    self.entryFingerprint = entryFingerprint
    self.matchValue = matchValue
  }
}

/// A source that keeps each sync's snapshot in a schema of its own warehouse (`planning:`), so
/// the diff runs there even though the state store is elsewhere. See docs/adbc.md.
public protocol WarehousePlanning: ModelReader {
  /// The schema holding the snapshots; `nil` when the source has no `planning:`.
  var planningSchema: String? { get }
  /// The version the warehouse's copy of a sync's snapshot is at; `nil` when it has none (its
  /// tables are missing, or it never held this sync).
  func plannedSnapshotVersion(syncID: Int) throws -> WarehouseSnapshotVersion?
  /// Diffs the model against the warehouse's copy of the sync's snapshot, as
  /// `WarehouseDiffing.diff` does against the state store's, returning `columns` and
  /// fingerprinting `used` of them (fewer where sync logs read every column).
  func diff(_ model: ModelSQL, key: String, columns: [String], used: [String], signature: String, syncID: Int) throws
    -> any WarehouseDiffStream
  /// For apply, where the warehouse computes its copy after the run from the rows planned
  /// (Spark): materialises the model's key, `columns` and a fingerprint of the `used` ones, and
  /// returns what the plan reads instead of the model. `nil` where the copy is advanced from the
  /// state store's records instead (postgres).
  func stage(_ model: ModelSQL, syncName: String, key: String, columns: [String], used: [String], signature: String)
    throws -> ModelSQL?
  /// For sync logs in this warehouse: the rows of a model `stage` wrote, as `sync_snapshot`
  /// lists them, so the rows the diff leaves in the warehouse are logged there too. `nil` where
  /// the warehouse cannot spell some column's values as Backflow does; then every row is planned.
  func snapshotRows(ofStaged staged: ModelSQL, columns: [String]) throws -> WarehouseSnapshotRows?
}

extension WarehousePlanning {
  /// The diff fingerprinting every column it returns.
  public func diff(_ model: ModelSQL, key: String, columns: [String], signature: String, syncID: Int) throws
    -> any WarehouseDiffStream
  {
    try diff(model, key: key, columns: columns, used: columns, signature: signature, syncID: syncID)
  }
}

/// A staged model's rows as the sync logs' `sync_snapshot` lists them, computed in the warehouse:
/// a query of `row_id` (the key's text) and `fields` (the row as JSON, as Backflow writes it) for
/// each row whose key is neither NULL nor repeated. The other rows are always planned.
public struct WarehouseSnapshotRows: Sendable, Equatable {
  public var query: String
  /// The staged table the query reads, quoted; the sync logs drop it once they have read it.
  public var stage: String

  public init(query: String, stage: String) {
    self.query = query
    self.stage = stage
  }
}

/// Which state store (its lineage) and which version of a sync's snapshot there a warehouse's
/// copy holds.
public struct WarehouseSnapshotVersion: Sendable, Equatable, CustomStringConvertible {
  public var lineage: String
  public var version: Int

  public init(lineage: String, version: Int) {
    self.lineage = lineage
    self.version = version
  }

  public var description: String { "version \(version) of state \(lineage)" }
}
