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
      // Without the read endpoints the protocol cannot list records, so mirror's first run could
      // not find the ones absent from the model (`Destination.capabilities` adds it back for a
      // destination declared `readable`); `clear` empties a list.
      var modes = every
      modes[.object]?.remove(.mirror)
      return DestinationCapabilities(modes: modes, clearable: [.list], readsBack: false)
    }
  }
}

extension Destination {
  /// What this destination can do: its kind's capabilities, plus reading back and mirror for an
  /// http destination whose server implements the read endpoints (`readable: true`).
  public var capabilities: DestinationCapabilities {
    var capabilities = type.value.capabilities
    if type.value == .http, isReadable {
      capabilities.modes[.object]?.insert(.mirror)
      capabilities.readsBack = true
    }
    return capabilities
  }
}
