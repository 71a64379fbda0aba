/// What a kind of destination can do. Validation refuses a sync that asks for more, before any
/// connection is opened.
public struct DestinationCapabilities: Sendable {
  /// The sync types and, per type, the modes it accepts.
  public var modes: [Sync.Kind: Set<Sync.Mode>]
  /// Sync types whose destination object can be emptied (`resync --clear`).
  public var clearable: Set<Sync.Kind>
  /// Whether records can be read back (mirror's first run, drift).
  public var readsBack: Bool
}

extension Destination.Kind {
  public var capabilities: DestinationCapabilities {
    let every: [Sync.Kind: Set<Sync.Mode>] = [
      .object: [.upsert, .update, .insert, .mirror], .event: [.insert], .list: [.addRemove],
    ]
    switch self {
    case .postgres, .sqlite, .file:
      return DestinationCapabilities(modes: every, clearable: [.object, .event, .list], readsBack: true)
    case .http:
      // The protocol has no way to list records, so mirror's first run could not find the ones
      // absent from the model; `clear` empties a list.
      var modes = every
      modes[.object]?.remove(.mirror)
      return DestinationCapabilities(modes: modes, clearable: [.list], readsBack: false)
    }
  }
}
