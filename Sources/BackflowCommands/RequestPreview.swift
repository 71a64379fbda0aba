import BackflowConfig
import BackflowDestinations
import BackflowEngine
import BackflowPlanner
import BackflowState
import Foundation

/// `plan --show-requests`: the first request of each operation a plan would send to a
/// destination that takes request templates (rest), rendered from the first planned row through
/// `backflow test`'s dry run: nothing is sent, not even a token request, and secrets are masked.
struct RequestPreview {
  let project: Project
  let directory: URL
  let state: StateStore
  let terminal: Terminal

  /// The preview's lines for every sync of `plan` on such a destination.
  func lines(for plan: Plan) async -> [String] {
    let tester = RowTester(project: project, directory: directory, state: state)
    let renderer = TraceRenderer(terminal: terminal)
    var lines: [String] = []
    for sync in plan.syncs {
      guard let data = sync.data, let declared = project.sync(named: sync.name),
        let destination = project.destinations.first(where: { $0.name.value == declared.destination.value }),
        destination.driver.takesRequests
      else { continue }
      for (planned, operation) in [(DataPlan.Operation.add, RowTest.Operation.added), (.change, .changed), (.remove, .removed)] {
        guard let key = data.sampleKeys[planned]?.first else { continue }
        lines.append(terminal.paint("\(sync.name), \(operation.rawValue) row \(key):", .bold))
        let events = Events()
        let outcome: RowTestOutcome
        do {
          // A removed row has left the model: its request is rendered from the snapshot, as apply sends it.
          let prepared =
            operation == .removed
            ? try tester.prepareRemoval(sync: sync.name, key: key)
            : try tester.prepare(RowTest(sync: sync.name, key: key, operation: operation))
          outcome = await tester.send(prepared, dryRun: true) { events.append($0) }
        } catch {
          outcome = .failed(FailureKind.message(of: error))
        }
        lines += events.all.flatMap(renderer.lines).map { "  " + $0 }
        switch outcome {
        case let .notSent(reason): lines.append("  nothing is sent: \(reason)")
        case let .failed(reason): lines.append("  " + terminal.paint("cannot render: \(reason)", .red))
        case .succeeded, .dryRun: break
        }
      }
    }
    guard !lines.isEmpty else { return [] }
    return ["", "Requests (the first of each operation, rendered without sending; secrets masked):"] + lines
  }

  /// The trace's events, collected from the connector's tasks.
  private final class Events: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [DestinationTraceEvent] = []

    func append(_ event: DestinationTraceEvent) {
      lock.lock()
      defer { lock.unlock() }
      events.append(event)
    }

    var all: [DestinationTraceEvent] {
      lock.lock()
      defer { lock.unlock() }
      return events
    }
  }
}
