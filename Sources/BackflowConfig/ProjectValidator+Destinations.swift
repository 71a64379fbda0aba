extension ProjectValidator {
  /// Each sync asks only for what its destination can do (`DestinationCapabilities`, from its
  /// driver): checked here, before any connection is opened, because the sync and the destination
  /// live in different files.
  mutating func checkDestinationCapabilities() {
    for sync in project.syncs {
      guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else { continue }
      let kind = destination.type.value
      checkRequests(of: sync, on: destination)
      if !destination.capabilities.nestsFields {
        for mapping in sync.mappings where mapping.to.value.contains(".") {
          diagnostics.error(
            "to \"\(mapping.to.value)\" is dotted, which writes a nested field, but destination "
              + "\(destination.name.value) is \(kind), whose fields are columns: name a column, or send to a rest or http "
              + "destination or a JSON Lines file", at: mapping.to.location)
        }
      }
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

extension ProjectValidator {
  /// A destination that takes `requests:` needs one for every operation the sync can send; any
  /// other refuses them, since nothing would read them.
  mutating func checkRequests(of sync: Sync, on destination: Destination) {
    guard destination.driver.takesRequests else {
      if let requests = sync.requests {
        diagnostics.error(
          "requests is for rest destinations; destination \(destination.name.value) is \(destination.type.value), "
            + "which sends its own requests: remove requests", at: requests.location)
      }
      return
    }
    guard let requests = sync.requests else {
      let needed = sync.sentOperations.joined(separator: ", ")
      diagnostics.error(
        "destination \(destination.name.value) is rest, so the sync says which request each operation sends: "
          + "add requests: with \(needed) (docs/rest.md)", at: sync.destination.location)
      return
    }
    for operation in sync.sentOperations where requests.request(for: operation) == nil {
      diagnostics.error(
        "requests has no \(operation), which this sync sends (\(sync.reason(for: operation))); add requests.\(operation)",
        at: requests.location)
    }
    if sync.mode.value == .mirror, sync.type.value == .object, requests.request(for: "list") == nil {
      diagnostics.error(
        "mode mirror's first run deletes the records absent from the model, so it lists them: add requests.list "
          + "(a paginated request, docs/rest.md), or use mode: upsert with on_delete: delete", at: sync.mode.location)
    }
    // An id no request can give: every record of that request would fail at apply.
    let givesIDs = requests.requests.contains { $0.request.result?.id != nil || $0.request.records?.id != nil }
    if !givesIDs, let reading = requests.requests.first(where: { $0.request.readsDestinationID }) {
      diagnostics.warning(
        "requests.\(reading.operation.value) reads record.destination_id, but no request gives ids: add id: to the "
          + "result: of the request that makes the records, or declare read: with result.id to look them up; until "
          + "then each record it sends fails", at: reading.operation.location)
    }
  }
}
