import Foundation
import Testing

@testable import BackflowDestinations

@Suite("RetryPolicy")
struct RetryPolicyTests {
  /// A policy whose jitter always picks `fraction` of the window.
  private func policy(retries: Int = 5, fraction: Double) -> RetryPolicy {
    RetryPolicy(retries: retries, random: { fraction })
  }

  @Test("retries up to `retries` times, then gives up")
  func countsRetries() {
    let policy = policy(retries: 3, fraction: 0.5)
    for attempt in 1...3 {
      guard case .retry = policy.decision(afterAttempt: attempt) else {
        Issue.record("attempt \(attempt) was not retried")
        continue
      }
    }
    #expect(policy.decision(afterAttempt: 4) == .retriesExhausted)
    #expect(policy.decision(afterAttempt: 4, retryAfter: .seconds(1)) == .retriesExhausted)
    #expect(self.policy(retries: 0, fraction: 0.5).decision(afterAttempt: 1) == .retriesExhausted)
    #expect(RetryPolicy(retries: -3).retries == 0)
  }

  @Test("the window doubles from 1 s per attempt and stops at 30 s; the jitter picks within it")
  func exponentialWindow() {
    let half = policy(retries: 100, fraction: 0.5)
    let expected: [Duration] = [
      .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(15), .seconds(15),
    ]
    for (index, delay) in expected.enumerated() {
      #expect(half.decision(afterAttempt: index + 1) == .retry(after: delay), "attempt \(index + 1)")
    }
    #expect(policy(fraction: 0).decision(afterAttempt: 3) == .retry(after: .zero))
    #expect(policy(fraction: 0.25).decision(afterAttempt: 3) == .retry(after: .milliseconds(1000)))
  }

  @Test("every attempt's wait stays within zero and the cap, even for absurd attempts and random values")
  func boundedForEveryAttempt() {
    for fraction in [-1.0, 0, 0.3, 0.999_999, 1, 7, .nan] {
      let policy = policy(retries: Int.max, fraction: fraction)
      var previous = Duration.zero
      for attempt in Array(1...200) + [Int.max - 1, Int.max] {
        guard case let .retry(after: delay) = policy.decision(afterAttempt: attempt) else {
          Issue.record("attempt \(attempt) with fraction \(fraction) was not retried")
          continue
        }
        #expect(
          delay >= .zero && delay <= RetryPolicy.defaultMaximumDelay,
          "attempt \(attempt), fraction \(fraction)")
        if fraction.isFinite { #expect(delay >= previous, "the window never shrinks") }
        previous = delay
      }
    }
  }

  @Test("full jitter spreads waits over the whole window")
  func fullJitter() {
    let policy = RetryPolicy(retries: 5)
    let delays = (0..<500).map { _ in policy.backoff(afterAttempt: 4) }
    #expect(delays.allSatisfy { $0 >= .zero && $0 < .seconds(8) })
    #expect(delays.contains { $0 < .seconds(2) })
    #expect(delays.contains { $0 > .seconds(6) })
  }

  @Test("Retry-After replaces the back-off, up to five minutes")
  func honoursRetryAfter() {
    let policy = policy(fraction: 0.5)
    #expect(policy.decision(afterAttempt: 1, retryAfter: .seconds(7)) == .retry(after: .seconds(7)))
    #expect(policy.decision(afterAttempt: 5, retryAfter: .zero) == .retry(after: .zero))
    #expect(policy.decision(afterAttempt: 2, retryAfter: .seconds(300)) == .retry(after: .seconds(300)))
    #expect(policy.decision(afterAttempt: 2, retryAfter: .seconds(301)) == .retryAfterTooLong(.seconds(301)))
    let custom = RetryPolicy(retries: 1, maximumRetryAfter: .seconds(2))
    #expect(custom.decision(afterAttempt: 1, retryAfter: .seconds(3)) == .retryAfterTooLong(.seconds(3)))
  }

  @Test(
    "Retry-After as delta-seconds",
    arguments: [
      ("120", Duration.seconds(120)), (" 5 ", .seconds(5)), ("0", .zero),
      ("99999999999999999999999", .seconds(Int.max)),
    ])
  func parsesDeltaSeconds(text: String, expected: Duration) {
    #expect(RetryPolicy.retryAfter(text) == expected)
  }

  @Test(
    "Retry-After that is neither a number nor a date counts as absent",
    arguments: [
      "", "-1", "1.5", "soon", "5s", "Sun, 06 Nov 1994", "0x10",
    ])
  func rejectsNonsense(text: String) {
    #expect(RetryPolicy.retryAfter(text) == nil)
  }

  @Test("Retry-After as an HTTP-date in each of the three forms, measured from now")
  func parsesDates() throws {
    let now = try #require(RetryPolicy.httpDate("Sun, 06 Nov 1994 08:49:00 GMT"))
    #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(37))
    #expect(RetryPolicy.retryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(37))
    #expect(RetryPolicy.retryAfter("Sun Nov  6 08:49:37 1994", now: now) == .seconds(37))
    #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:50:00 GMT", now: now) == .seconds(60))
    // A date already past is no wait at all.
    #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)
    #expect(now.timeIntervalSince1970 == 784_111_740)
  }
}
