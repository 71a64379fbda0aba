/// What a destination can do. Validation refuses a sync that asks for more, before any
/// connection is opened.
public struct DestinationCapabilities: Sendable {
  /// The sync types and, per type, the modes it accepts.
  public var modes: [Sync.Kind: Set<Sync.Mode>]
  /// Sync types whose destination object can be emptied (`resync --clear`).
  public var clearable: Set<Sync.Kind>
  /// Whether records can be read back (mirror's first run, drift).
  public var readsBack: Bool
  /// Whether records are JSON objects (rest, http, JSON Lines): a dotted `to`
  /// (`properties.firstname`) writes a nested field, and a model's `json:` columns travel as
  /// objects and arrays. A table's fields are columns: there a dotted `to` is refused and JSON
  /// columns are sent as their text.
  public var nestsFields = false

  public init(modes: [Sync.Kind: Set<Sync.Mode>], clearable: Set<Sync.Kind>, readsBack: Bool) {
    self.modes = modes
    self.clearable = clearable
    self.readsBack = readsBack
  }

  /// Every sync type with every mode it has, everything clearable, read back: what a table takes.
  public static let everything = DestinationCapabilities(
    modes: Dictionary(uniqueKeysWithValues: Sync.Kind.allCases.map { ($0, Set($0.modes)) }),
    clearable: Set(Sync.Kind.allCases), readsBack: true)
}
