import BackflowPostgres

/// A source that can diff a model against a sync's snapshot kept in its own database, so that
/// only the rows that differ leave it.
public protocol WarehouseDiffing: ModelReader {
  /// Whether this source's connection reaches the database of the session `mark` names and may
  /// read `table` there (`nil`: a store not created yet, whose tables it cannot be asked about).
  func reaches(_ mark: PostgresSessionMark, reading table: String?) throws -> Bool

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

  /// How a typed copy would hold the model's key and `columns`; `nil` when a type is not one it
  /// can hold (`TypedCopyColumns`).
  func typedCopyLayout(_ model: ModelSQL, key: String, columns: [String]) throws -> TypedCopyLayout?
}

/// How a source reads one sync's snapshot from the state store's tables in its database.
public struct WarehouseSnapshot: Sendable {
  /// A query of the sync's entries with the columns `row_key`, `fingerprint` and `match_value`.
  public var entries: String
  /// A query of one row and column: how many entries the sync has.
  public var count: String
  /// The sync's typed copy, to compare the model with when it is current.
  public var copy: WarehouseCopy?

  public init(entries: String, count: String, copy: WarehouseCopy? = nil) {
    self.entries = entries
    self.count = count
    self.copy = copy
  }
}

/// Where the state store keeps a sync's typed copy (docs/state.md) and how to tell it is current.
public struct WarehouseCopy: Sendable {
  /// The copy's table: `"backflow key"`, then one column per planned column
  /// (`TypedCopyColumns.name`), then `"backflow known"`.
  public var table: String
  /// A query of one row when the copy is stamped: whether the session may read the copy, whether
  /// it mirrors the snapshot (two booleans), and how many rows it holds when the stamp records it
  /// (else NULL). No row when it was never stamped; a missing copy, or missing stamps, make it
  /// fail as an undefined table (SQLSTATE 42P01).
  public var check: String
  /// Whether the key is kept as text (compared by its bytes) rather than in the model's type.
  public var textKey: Bool
  /// The SQL type of each column (`TypedCopyColumns.valueTypes`), in the diff's column order.
  public var types: [String]

  public init(table: String, check: String, textKey: Bool, types: [String]) {
    self.table = table
    self.check = check
    self.textKey = textKey
    self.types = types
  }
}

/// The column types a typed copy can hold, by PostgreSQL type OID: those whose text is the same
/// for the same binary image under the same session settings, and which read back from their text
/// with the image they had. Other types (domains, enums, arrays, reg* names, and `json`, whose
/// text a plan file does not keep byte for byte) leave the sync without a copy.
public enum TypedCopyColumns {
  public static func name(_ index: Int) -> String { "c\(index)" }

  /// Types of a key, which must be equal exactly when their text is: integers, uuid, and text
  /// compared by its bytes.
  public static let keyTypes: [UInt32: String] = [
    20: "bigint", 21: "smallint", 23: "integer", 2950: "uuid", 25: "text COLLATE \"C\"", 1043: "text COLLATE \"C\"",
  ]

  public static let valueTypes: [UInt32: String] = [
    16: "boolean", 17: "bytea", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 700: "real",
    701: "double precision", 1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp",
    1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric", 2950: "uuid", 3802: "jsonb",
  ]
}

/// A model's columns as a typed copy holds them.
public struct TypedCopyLayout: Sendable, Equatable {
  public var keyType: String
  public var types: [String]
  /// The session settings that shape the columns' text (time zone, date and interval styles,
  /// float digits, bytea output) and the server's version.
  public var settings: String

  public init(keyType: String, types: [String], settings: String) {
    self.keyType = keyType
    self.types = types
    self.settings = settings
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
  /// What the diff found of the sync's typed copy; `nil` when it was given none.
  var typedCopy: TypedCopyFinding? { get }
  func next() throws -> WarehouseDiffRow?
}

extension WarehouseDiffStream {
  public var fingerprintsAreBackflows: Bool { true }
  public var typedCopy: TypedCopyFinding? { nil }

  /// Whether the model was compared with the sync's typed copy rather than fingerprinted whole.
  public var comparedWithCopy: Bool { typedCopy?.isCompared == true }
}

/// What a warehouse diff found of the sync's typed copy (`WarehouseCopy`).
public enum TypedCopyFinding: Sendable, Equatable {
  /// The model was compared with it; `lacking` of its rows have no values yet (it was rebuilt),
  /// so those rows came back to be fingerprinted.
  case compared(lacking: Int)
  /// Missing, or stamped for other columns, types or mappings, or for another snapshot version:
  /// not read, and every row was fingerprinted.
  case behind
  /// The session may not read it (or could not tell): not read, and every row was fingerprinted.
  case unreadable

  /// Whether the model is compared with the copy.
  public var isCompared: Bool {
    if case .compared = self { true } else { false }
  }
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
