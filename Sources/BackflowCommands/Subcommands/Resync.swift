import ArgumentParser
import BackflowConfig
import BackflowState

extension Backflow {
  /// `backflow resync`: the next run of a sync sends every current row as added, without
  /// diffing; `--clear` empties the destination first.
  public struct Resync: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "resync",
      abstract: "Make the next run send every current row as added, without diffing.",
      discussion: """
        Records the request in state, with who asked and when; the next `plan` shows it and the \
        next `apply` carries it out. Rows that left the model are not removed by that run, \
        whatever on_delete says. --clear first empties the destination object, where the \
        destination can (tables, files, HTTP lists). A second request replaces the first; \
        --cancel withdraws it. Plan files made before a request are refused as stale. \
        Documented in docs/steering.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("The sync to resync.", valueName: "sync"))
    var sync: String

    @Flag(help: "Empty the destination object first (tables, files and HTTP lists only).")
    var clear = false

    @Flag(help: "Withdraw a pending resync instead.")
    var cancel = false

    public init() {}

    public func validate() throws {
      if clear, cancel {
        throw ValidationError("--cancel withdraws a pending resync with or without --clear; give it alone")
      }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      let steering = try SteeringRequest(session: session, syncName: sync, command: "resync")
      if cancel {
        let cancelled = try steering.cancel([.resync, .resyncClear])
        SteeringRequest.print(steering.cancellation(cancelled, of: .resync), quiet: global.quiet)
        return
      }
      if clear, let reason = Self.clearRefusal(steering.sync, in: session.project) {
        throw CommandSession.failure(reason)
      }
      let request = PendingRequest(
        action: clear ? .resyncClear : .resync, requestedBy: SteeringRequest.requester(),
        requestedAt: SteeringRequest.now())
      let replaced = try steering.request(request)
      let model = steering.sync.inlineModel?.name.value ?? steering.sync.model.value
      var lines = [
        "\(steering.heading): \(request.action.noun) \(request.attribution).",
        "The next apply sends every current row of model \(model) to \(steering.destination) as added, without "
          + "comparing it with the last snapshot.",
      ]
      if let removals = Self.removals(of: steering.sync) { lines.append(removals) }
      if clear {
        lines.append(
          "It first empties \(steering.destination): every record there is deleted, including records Backflow "
            + "did not write.")
      }
      lines += steering.closing(replaced: replaced)
      lines.append(
        "See it with `backflow plan --select \(sync)`; withdraw it with `backflow resync \(sync) --cancel`.")
      SteeringRequest.print(lines, quiet: global.quiet)
    }

    /// What a resync does not do to rows that left the model, given the sync's delete behaviour.
    static func removals(of sync: Sync) -> String? {
      switch sync.type.value {
      case .event:
        return nil
      case .list:
        return "Members that left the model since the last run are not removed from the list, as list syncs "
          + "otherwise do."
      case .object:
        if sync.mode.value == .mirror {
          return "Rows that left the model since the last run are not deleted from the destination, although "
            + "mode is mirror."
        }
        if sync.mode.value == .insert {
          return "Rows that left the model since the last run are left alone (insert mode never deletes)."
        }
        switch sync.onDelete.value {
        case .delete:
          return "Rows that left the model since the last run are not deleted from the destination, although "
            + "on_delete is delete."
        case .clear:
          return "Rows that left the model since the last run keep their fields in the destination, although "
            + "on_delete is clear."
        case .nothing:
          return "Rows that left the model since the last run are left alone (on_delete is nothing)."
        }
      }
    }

    /// Why `--clear` cannot empty this sync's destination object, or `nil` when it can.
    static func clearRefusal(_ sync: Sync, in project: Project) -> String? {
      guard let destination = project.destinations.first(where: { $0.name.value == sync.destination.value }) else {
        return "destination \(sync.destination.value) of sync \(sync.name.value) is not declared"
      }
      guard !destination.capabilities.clearable.contains(sync.type.value) else { return nil }
      let reason =
        destination.driver.clearRefusal(type: sync.type.value, object: sync.object.value)
        ?? "(\(destination.type.value)) cannot empty \(sync.type.value.rawValue) objects. Resync without --clear"
      return "--clear is refused for \(sync.name.value): destination \(destination.name.value) \(reason)"
    }
  }
}
