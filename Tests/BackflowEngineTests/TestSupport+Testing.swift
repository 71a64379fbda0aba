import BackflowEngine
import BackflowState
import BackflowTestSupport
import Testing

extension Backend: CustomTestStringConvertible {
  public var testDescription: String { rawValue }
}

extension Array where Element == SyncOutcome {
  /// The outcome of the one sync the scenarios have, or of `name`.
  func sync(_ name: String = "users_to_crm") throws -> SyncOutcome {
    try #require(first { $0.name == name })
  }

  func run(_ name: String = "users_to_crm") throws -> RunRecord {
    try #require(try sync(name).run)
  }
}

/// Stops an apply after its first batch, as a first Ctrl-C does.
final class CancelAfterFirstBatch: ApplyObserver {
  let cancellation: Cancellation

  init(_ cancellation: Cancellation) {
    self.cancellation = cancellation
  }

  func syncStarted(_ name: String, run: RunRecord) {}
  func syncProgress(_ name: String, run: RunRecord) { cancellation.request() }
  func syncFinished(_ outcome: SyncOutcome) {}
}
