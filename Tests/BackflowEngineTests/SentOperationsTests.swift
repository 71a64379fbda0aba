import BackflowConfig
import BackflowTestSupport
import Testing

@testable import BackflowEngine

/// `Sync.sentOperations`, which validation checks `requests:` against, says exactly what the
/// engine's route sends, for every type, mode and `on_delete`.
@Suite("operations a sync sends")
struct SentOperationsTests {
  @Test func validationAndTheEngineAgreeOnWhatIsSent() throws {
    var checked = 0
    for type in Sync.Kind.allCases {
      for mode in type.modes {
        for onDelete in Sync.DeleteBehavior.allCases {
          let match = mode.matchesRecords ? "match: { email: email }\n" : ""
          let loaded = ProjectFixture.load([
            "syncs/s.yaml":
              "model: users\ndestination: local\nobject: o\ntype: \(type.rawValue)\nmode: \(mode.rawValue)\n\(match)"
              + (type == .object ? "on_delete: \(onDelete.rawValue)\n" : "")
          ])
          guard let sync = loaded.project.syncs.first, !loaded.diagnostics.hasErrors else { continue }
          let routed = [SyncRun.PlannedOperation.add, .change, .remove].compactMap { sync.destinationOperation(for: $0)?.rawValue }
          #expect(Set(routed) == Set(sync.sentOperations), "\(type) \(mode) \(onDelete)")
          checked += 1
        }
      }
    }
    #expect(checked >= 14)
  }
}
