import BackflowConfig
import BackflowState

/// What `apply` would do: per sync, the config action and the rows to add, change and remove.
public struct Plan: Sendable {
  /// The `format_version` of JSON plans and plan files.
  public static let formatVersion = 1

  /// The git commit the project's files came from, when they are in a repository.
  public var commit: String?
  /// The state the plan was made against: `nil` when none has been written yet.
  public var stateLineage: String?
  public var syncs: [SyncPlan]
  /// Problems found while planning (missing columns, failing queries), at the config that causes them.
  public var diagnostics: Diagnostics
  /// Whether the plan's rows include the unchanged ones, which sync logs need for `sync_snapshot`.
  public var includesUnchangedRows = false

  /// Whether applying would change anything: config, rows, or the snapshot.
  public var hasChanges: Bool {
    syncs.contains { $0.hasChanges }
  }
}

/// One sync's part of a plan.
public struct SyncPlan: Sendable {
  public enum ConfigAction: String, Sendable, CaseIterable {
    /// Not in state: apply registers it and gives it an ID.
    case create
    /// Its config differs from the config last applied.
    case update
    case none
    /// In state, gone from the repository: apply marks it retired and leaves destination data alone.
    case retire
  }

  public var name: String
  /// `nil` until the first apply assigns it.
  public var id: Int?
  /// The sync's state serial when planned; a plan file is stale once it moves.
  public var serial: Int?
  public var configAction: ConfigAction
  public var configChanges: [ConfigChange]
  /// The config apply will record; `nil` for a retired sync.
  public var config: SyncConfiguration?
  public var model: String?
  /// `dbt:customers → analytics.customers` for a model that reads a dbt model's relation.
  public var dbt: String?
  public var destination: String?
  public var enabled: Bool
  /// A resync or reset-CDC request that this plan acts on.
  public var pending: PendingRequest?
  /// `nil` when rows were not planned: retired, disabled, or an error.
  public var data: DataPlan?
  /// What a reviewer must see before applying.
  public var warnings: [String]
  /// Set when the sync's rows could not be planned; its diagnostics say why.
  public var failed: Bool

  public var hasChanges: Bool {
    configAction != .none || pending != nil || (data?.hasChanges ?? false)
  }
}

/// The row side of a sync's plan.
public struct DataPlan: Sendable, Equatable {
  /// How apply treats the sync's snapshot.
  public enum Basis: String, Sendable {
    /// Rows are compared with the previous run's snapshot, which advances.
    case previous
    /// The previous snapshot is discarded (resync, reset CDC, a new primary key) and rebuilt.
    case replaced
  }

  public enum Operation: String, Sendable, CaseIterable {
    case add
    case change
    case remove
  }

  public var basis: Basis
  /// Every row the model returned, rejected ones included.
  public var rowsQueried = 0
  public var add = 0
  public var change = 0
  public var remove = 0
  public var unchanged = 0
  /// Rows whose key is shared with another row; one per key is planned, these fail at apply.
  public var duplicateKeys = 0
  /// Rows with a NULL key, which cannot be tracked and fail at apply.
  public var nullKeys = 0
  /// Reset CDC: rows recorded into the snapshot without being sent.
  public var recorded = 0
  /// Resync: rows gone from the model that are not removed from the destination.
  public var ignoredRemovals = 0
  /// How many rows the snapshot held before this plan.
  public var previousRows = 0
  /// Mirror's first run: after every row is sent, destination records absent from the model are
  /// deleted.
  public var sweep = false
  /// Up to `--show-rows` keys per operation.
  public var sampleKeys: [Operation: [String]] = [:]
  /// Up to `--show-rows` keys of rejected rows.
  public var rejectedKeys: [String] = []
  /// Whether the model was diffed inside its warehouse (the state store's database, or the
  /// source's `planning:` schema), so that only the rows that differ were read from it.
  public var diffedInWarehouse = false
  /// Whether a copy kept for planning is missing or behind the state store's snapshot: the
  /// warehouse's copy (`planning:`), or the typed copy, also when it lacks some rows' values.
  /// Apply then runs the sync, even with no rows to send, so that the copy is written.
  public var rewritesPlanningCopy = false
  /// The typed copy apply keeps of the sync's snapshot, when it keeps one (docs/state.md).
  public var typedCopy: TypedCopy?
  /// Whether the warehouse compared the model with that copy rather than fingerprinting it whole.
  public var comparedWithCopy = false

  public func count(_ operation: Operation) -> Int {
    switch operation {
    case .add: add
    case .change: change
    case .remove: remove
    }
  }

  public var hasChanges: Bool {
    add + change + remove + recorded + ignoredRemovals > 0 || basis == .replaced || sweep || rewritesPlanningCopy
  }
}
