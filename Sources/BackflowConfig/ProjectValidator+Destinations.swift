extension ProjectValidator {
  /// Each sync asks only for what its destination's kind can do (`DestinationCapabilities`):
  /// checked here, before any connection is opened, because the sync and the destination live in
  /// different files.
  mutating func checkDestinationCapabilities() {
    for sync in project.syncs {
      guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else { continue }
      let kind = destination.type.value
      let type = sync.type.value
      let mode = sync.mode.value
      guard let modes = destination.capabilities.modes[type] else {
        diagnostics.error(
          "destination \(destination.name.value) is \(kind.rawValue), which does not take \(type.rawValue) syncs",
          at: sync.type.location)
        continue
      }
      guard !modes.contains(mode) else { continue }
      let usable = Sync.Kind.allCases.flatMap { $0 == type ? $0.modes : [] }.filter(modes.contains)
      diagnostics.error(
        "destination \(destination.name.value) is \(kind.rawValue), which cannot \(mode.rawValue): "
          + Self.reason(kind: kind, mode: mode, usable: usable),
        at: sync.mode.location)
    }
  }

  /// Why a kind of destination cannot take a mode, and what to write instead.
  private static func reason(kind: Destination.Kind, mode: Sync.Mode, usable: [Sync.Mode]) -> String {
    switch (kind, mode) {
    case (.http, .mirror):
      "without the read endpoints the HTTP protocol cannot list records, so mirror's first run could not find the ones "
        + "absent from the model; declare readable: true on the destination if its server implements POST {url}/{object}/keys "
        + "(docs/destinations.md), or use mode: upsert with on_delete: delete, which deletes the records of rows that leave "
        + "the model from now on"
    default:
      "use mode " + usable.map(\.rawValue).joined(separator: " or ")
    }
  }
}
