extension ProjectValidator {
  /// Each sync asks only for what its destination can do (`DestinationCapabilities`, from its
  /// driver): checked here, before any connection is opened, because the sync and the destination
  /// live in different files.
  mutating func checkDestinationCapabilities() {
    for sync in project.syncs {
      guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else { continue }
      let kind = destination.type.value
      let type = sync.type.value
      let mode = sync.mode.value
      guard let modes = destination.capabilities.modes[type] else {
        diagnostics.error(
          "destination \(destination.name.value) is \(kind), which does not take \(type.rawValue) syncs",
          at: sync.type.location)
        continue
      }
      guard !modes.contains(mode) else { continue }
      let usable = type.modes.filter(modes.contains)
      let reason =
        destination.driver.modeRefusal(mode, type: type, settings: destination.settings)
        ?? "use mode " + usable.map(\.rawValue).joined(separator: " or ")
      diagnostics.error(
        "destination \(destination.name.value) is \(kind), which cannot \(mode.rawValue): \(reason)", at: sync.mode.location)
    }
  }
}
