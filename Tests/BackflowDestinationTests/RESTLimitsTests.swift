import Foundation
import Testing

@testable import BackflowDestinations

/// A rest destination's limits, shared by every connector of one destination.
@Suite("REST limits")
struct RESTLimitsTests {
  /// Counts requests in flight and the most seen at once.
  actor Gauge {
    var current = 0
    var most = 0
    func enter() {
      current += 1
      most = max(most, current)
    }
    func leave() { current -= 1 }
  }

  @Test func concurrencyCapsRequestsAcrossConnectorsOfOneDestination() async throws {
    let name = "api-\(UUID().uuidString)"
    let gauge = Gauge()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0..<12 {
        // Each task asks the registry as a connector of its own sync would.
        let limits = RESTLimits.shared(destination: name, rate: nil, concurrency: 3)
        group.addTask {
          await limits.acquire()
          await gauge.enter()
          try await Task.sleep(for: .milliseconds(5 + index % 3))
          await gauge.leave()
          await limits.release()
        }
      }
      try await group.waitForAll()
    }
    #expect(await gauge.most == 3)
    #expect(RESTLimits.shared(destination: name, rate: nil, concurrency: 3) === RESTLimits.shared(destination: name, rate: nil, concurrency: 3))
    #expect(RESTLimits.shared(destination: name, rate: nil, concurrency: 3) !== RESTLimits.shared(destination: "other-\(name)", rate: nil, concurrency: 3))
  }

  @Test func resetHeadersAreEpochSecondsOrSecondsFromNow() {
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    #expect(RetryPolicy.resetAfter("1700000030", now: now) == .seconds(30))
    #expect(RetryPolicy.resetAfter("1699999990", now: now) == .zero)
    #expect(RetryPolicy.resetAfter("12", now: now) == .seconds(12))
    #expect(RetryPolicy.resetAfter("soon", now: now) == nil)
  }
}
