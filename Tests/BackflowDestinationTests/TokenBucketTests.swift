import BackflowDestinations
import Testing

/// The batch rate limit, without a clock: `now` is passed in.
@Suite("token bucket")
struct TokenBucketTests {
  @Test func aBurstOfOneSecondsWorthGoesAtOnceThenRequestsAreSpacedAtTheRate() {
    var bucket = TokenBucket(rate: 4, now: 0)
    #expect((0..<4).map { _ in bucket.take(now: 0) } == [0, 0, 0, 0])
    #expect(bucket.take(now: 0) == 0.25)
    // The fifth waited its 0.25 s; the sixth waits another quarter.
    #expect(bucket.take(now: 0.25) == 0.25)
  }

  @Test func idleTimeRefillsUpToOneSecondsWorthOnly() {
    var bucket = TokenBucket(rate: 2, now: 0)
    _ = bucket.take(now: 0)
    _ = bucket.take(now: 0)
    let waits = (0..<3).map { _ in bucket.take(now: 60) }
    #expect(waits == [0, 0, 0.5])
  }

  @Test func slowRatesWaitWholeSeconds() {
    var bucket = TokenBucket(rate: 0.5, now: 0)
    #expect(bucket.take(now: 0) == 0)
    #expect(bucket.take(now: 0) == 2)
  }
}
