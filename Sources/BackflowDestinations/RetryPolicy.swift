import Foundation

/// When to try a request again: exponential back-off with full jitter, capped, and the server's
/// `Retry-After` honoured up to a limit. A plain value, so every decision is testable without a
/// socket or a clock.
public struct RetryPolicy: Sendable {
  /// The first retry waits up to this long; each later one up to twice as long as the one before.
  public static let defaultBaseDelay: Duration = .seconds(1)
  /// No back-off wait is longer than this.
  public static let defaultMaximumDelay: Duration = .seconds(30)
  /// A `Retry-After` longer than this is not waited for: the request gives up instead of holding
  /// the run for an hour.
  public static let defaultMaximumRetryAfter: Duration = .seconds(300)

  /// What to do after an attempt failed in a way worth retrying.
  public enum Decision: Sendable, Equatable {
    case retry(after: Duration)
    /// Every retry has been used.
    case retriesExhausted
    /// The server asked for a wait longer than `maximumRetryAfter`.
    case retryAfterTooLong(Duration)
  }

  /// How many times a request is sent again after the first attempt (`retries:`; 0 sends once).
  public var retries: Int
  public var baseDelay: Duration
  public var maximumDelay: Duration
  public var maximumRetryAfter: Duration
  /// A response header that says when a rate limit resets (`X-RateLimit-Reset`), in epoch
  /// seconds or seconds from now, read when `Retry-After` is absent.
  public var resetHeader: String?
  /// A 429 whose body contains this text is not worth retrying in this run (a daily quota).
  public var giveUpWhen: String?
  /// A number in `0..<1` that picks the wait within the back-off window; injectable so tests
  /// can pin it.
  public var random: @Sendable () -> Double

  public init(
    retries: Int,
    baseDelay: Duration = RetryPolicy.defaultBaseDelay,
    maximumDelay: Duration = RetryPolicy.defaultMaximumDelay,
    maximumRetryAfter: Duration = RetryPolicy.defaultMaximumRetryAfter,
    random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
  ) {
    self.retries = max(0, retries)
    self.baseDelay = baseDelay
    self.maximumDelay = maximumDelay
    self.maximumRetryAfter = maximumRetryAfter
    self.random = random
  }

  /// The decision after attempt number `attempt` (1 is the first request) failed; `retryAfter`
  /// is the wait the server asked for, if it did.
  public func decision(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Decision {
    guard attempt <= retries else { return .retriesExhausted }
    if let retryAfter {
      guard retryAfter <= maximumRetryAfter else { return .retryAfterTooLong(retryAfter) }
      return .retry(after: max(retryAfter, .zero))
    }
    return .retry(after: backoff(afterAttempt: attempt))
  }

  /// Full jitter: a uniformly random wait between zero and `min(maximumDelay, baseDelay ×
  /// 2^(attempt − 1))`, so clients that failed together do not retry together.
  public func backoff(afterAttempt attempt: Int) -> Duration {
    // The exponent stops growing long before Double would overflow; the cap applies anyway.
    let exponent = Double(min(max(attempt - 1, 0), 62))
    let window = min(maximumDelay.inSeconds, baseDelay.inSeconds * pow(2, exponent))
    let drawn = random()
    let fraction = drawn.isFinite ? min(max(drawn, 0), 1) : 0
    return .seconds(window * fraction)
  }

  /// The wait a `Retry-After` header asks for: delta-seconds (`120`) or an HTTP-date, measured
  /// from `now`; a date in the past is no wait. `nil` for anything else, which then counts as
  /// no header.
  public static func retryAfter(_ value: String, now: Date = Date()) -> Duration? {
    let text = value.trimmingCharacters(in: .whitespaces)
    if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
      // Absurdly long digit strings are still a (very long) wait, not a parse failure.
      return .seconds(Int(text) ?? Int.max)
    }
    guard let date = httpDate(text) else { return nil }
    let seconds = date.timeIntervalSince(now)
    return seconds > 0 ? .seconds(seconds) : .zero
  }

  /// The wait a reset header asks for: a number above a billion is epoch seconds (measured from
  /// `now`), a smaller one seconds from now; `nil` for anything else.
  public static func resetAfter(_ value: String, now: Date = Date()) -> Duration? {
    guard let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds >= 0 else {
      return nil
    }
    let wait = seconds > 1_000_000_000 ? seconds - now.timeIntervalSince1970 : seconds
    return wait > 0 ? .seconds(wait) : .zero
  }

  /// Whether a 429 with this body says retrying is no use (`giveUpWhen`).
  func givesUp(onAnswer body: String) -> Bool {
    guard let giveUpWhen, !giveUpWhen.isEmpty else { return false }
    return body.contains(giveUpWhen)
  }

  /// Parses the three HTTP-date forms RFC 9110 asks recipients to accept: IMF-fixdate
  /// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
  /// (`Sun Nov  6 08:49:37 1994`).
  static func httpDate(_ text: String) -> Date? {
    let collapsed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    for format in [
      "EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy",
    ] {
      formatter.dateFormat = format
      if let date = formatter.date(from: collapsed) { return date }
    }
    return nil
  }
}

extension Duration {
  /// The length in (fractional) seconds.
  var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
