import ArgumentParser
import BackflowConfig
import BackflowState
import Foundation

/// What `resync` and `reset-cdc` share: the applied sync they steer, who asks and when, and
/// recording, replacing or cancelling its pending request in state.
struct SteeringRequest {
  let session: CommandSession
  let sync: Sync
  let record: SyncRecord

  /// Finds `name` in the project and in state; a sync that is not in the project, or has never
  /// been applied, ends the command with exit code 1 and says why.
  init(session: CommandSession, syncName name: String, command: String) throws {
    self.session = session
    guard let sync = session.project.sync(named: name) else {
      throw CommandSession.failure(
        "no sync named \(name) in the project"
          + Suggestion.hint(for: name, in: session.project.syncs.map(\.name.value)))
    }
    guard let record = try session.state.syncs().first(where: { $0.name == name && $0.retiredAt == nil }) else {
      throw CommandSession.failure(
        "sync \(name) has not been applied yet, so there is nothing to \(command): its first apply sends every "
          + "row as added anyway. Run `backflow apply --select \(name)` first")
    }
    self.sync = sync
    self.record = record
  }

  var name: String { sync.name.value }

  /// `users_to_crm (#3)`.
  var heading: String { "\(name) (#\(record.id))" }

  /// `local/contacts`.
  var destination: String { "\(sync.destination.value)/\(sync.object.value)" }

  /// Records `request`, replacing any pending one; returns the one it replaced.
  func request(_ request: PendingRequest) throws -> PendingRequest? {
    try session.writableState().setPending(request, syncID: record.id)
    return record.pending
  }

  /// Removes the pending request if it is one of `actions`; returns it, or `nil` when there was
  /// nothing of that kind to cancel.
  func cancel(_ actions: Set<PendingRequest.Action>) throws -> PendingRequest? {
    guard let pending = record.pending, actions.contains(pending.action) else { return nil }
    try session.writableState().setPending(nil, syncID: record.id)
    return pending
  }

  /// The lines every request and cancellation ends with: what was replaced, and stale plan files.
  func closing(replaced: PendingRequest?) -> [String] {
    var lines: [String] = []
    if let replaced {
      lines.append("This replaces the \(replaced.action.noun) \(replaced.attribution).")
    }
    lines.append(
      "Plan files made before now are stale: `backflow apply` refuses them; run `backflow plan` again.")
    if !sync.enabled.value {
      lines.append("\(name) is disabled (enabled: false): the request waits until it is enabled and applied.")
    }
    return lines
  }

  /// The cancellation's report: what was cancelled, or why nothing was.
  func cancellation(_ cancelled: PendingRequest?, of action: PendingRequest.Action) -> [String] {
    guard let cancelled else {
      guard let other = record.pending else {
        return ["Nothing to cancel: \(name) has no pending \(action.noun)."]
      }
      return [
        "Nothing to cancel: \(name) has no pending \(action.noun); its pending request is a \(other.action.noun) "
          + "\(other.attribution) (`\(other.action.command(name)) --cancel` withdraws it)."
      ]
    }
    return [
      "Cancelled the \(cancelled.action.noun) of \(heading) \(cancelled.attribution): the next run compares rows "
        + "with the last snapshot as usual.",
      "Plan files made before now are stale: `backflow apply` refuses them; run `backflow plan` again.",
    ]
  }

  /// Prints `lines`, or only the first one with `--quiet`.
  static func print(_ lines: [String], quiet: Bool) {
    Swift.print((quiet ? Array(lines.prefix(1)) : lines).joined(separator: "\n"))
  }

  /// Who asks: `user@host`, the user from the system's account database (`USER` when it has
  /// none).
  static func requester(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    var user = environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
      user = String(cString: name)
    }
    let host = ProcessInfo.processInfo.hostName
    return host.isEmpty ? user : "\(user)@\(host)"
  }

  /// Now, in ISO 8601 (UTC), as state records times.
  static func now() -> String {
    Date().formatted(.iso8601)
  }
}

extension PendingRequest {
  /// `by ada@laptop at 2024-05-01T12:00:00Z`.
  var attribution: String { "requested by \(requestedBy) at \(requestedAt)" }
}

extension PendingRequest.Action {
  /// The request in words: `full resync`, `full resync with --clear`, `CDC reset`.
  var noun: String {
    switch self {
    case .resync: "full resync"
    case .resyncClear: "full resync with --clear"
    case .resetCDC: "CDC reset"
    }
  }

  /// The command that makes the request.
  func command(_ sync: String) -> String {
    switch self {
    case .resync, .resyncClear: "backflow resync \(sync)"
    case .resetCDC: "backflow reset-cdc \(sync)"
    }
  }
}
