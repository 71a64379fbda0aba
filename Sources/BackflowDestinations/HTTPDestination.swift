import AsyncHTTPClient
import BackflowConfig
import Foundation
import NIOCore
import NIOHTTP1

/// The generic JSON protocol (docs: "The HTTP protocol"): one `POST {url}/{object}` per batch,
/// per-record results in a 2xx answer, retries with back-off on 429, 5xx, resets and time-outs.
///
/// Messages name the destination and `POST /{object}`, never the URL or a header value: both may
/// come from the environment.
public final class HTTPDestination: DestinationConnector {
  /// An answer body larger than this is not read; the batch fails.
  static let maximumAnswerBytes = 16 * 1024 * 1024

  /// The destination's name in `backflow.yaml`, for messages.
  public let name: String
  private let target: DestinationTarget
  private let endpoint: Result<HTTPEndpoint, DestinationError>
  private let headers: HTTPHeaders
  private let timeout: Duration
  private let policy: RetryPolicy
  private let redact: HTTPRedactor
  private let client: HTTPClient

  /// The connector for one run. Nothing is checked here: `prepare()` reports a URL or header
  /// that cannot be used.
  public convenience init(
    baseURL: String, headers: [(String, String)], retries: Int, timeout: Duration,
    target: DestinationTarget, name: String = "http"
  ) throws {
    try self.init(
      baseURL: baseURL, headers: headers, timeout: timeout, target: target, name: name,
      retryPolicy: RetryPolicy(retries: retries))
  }

  /// As above, with the back-off spelled out (tests shorten it).
  public init(
    baseURL: String, headers: [(String, String)], timeout: Duration, target: DestinationTarget,
    name: String = "http", retryPolicy: RetryPolicy
  ) throws {
    self.name = name
    self.target = target
    self.timeout = timeout
    self.policy = retryPolicy
    self.redact = HTTPRedactor(headerValues: headers.map(\.1), url: baseURL)

    var problem: String?
    var fields = HTTPHeaders()
    fields.add(name: "User-Agent", value: "backflow")
    fields.add(name: "Accept", value: "application/json")
    for (field, value) in headers {
      if let reason = Self.headerProblem(field, value) {
        problem = problem ?? reason
        continue
      }
      fields.replaceOrAdd(name: field, value: value)
    }
    // The protocol's own headers win over configured ones of the same name.
    fields.replaceOrAdd(name: "Content-Type", value: "application/json")
    self.headers = fields

    do {
      let endpoint = try HTTPEndpoint(baseURL)
      if let problem {
        self.endpoint = .failure(DestinationError("destination \(name): \(problem)"))
      } else if timeout <= .zero {
        self.endpoint = .failure(DestinationError("destination \(name): timeout must be positive"))
      } else {
        self.endpoint = .success(endpoint)
      }
    } catch {
      self.endpoint = .failure(DestinationError("destination \(name): \(error.message)"))
    }

    var configuration = HTTPClient.Configuration()
    // A redirect would re-send the headers (credentials included) wherever it points; a 3xx fails
    // the batch like any other 4xx instead.
    configuration.redirectConfiguration = .disallow
    // Connection failures come back at once, for the retry policy to handle: the pool's own
    // retrying would hold a refused connection until the request's deadline.
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, target.concurrency)
    configuration.timeout = .init(connect: Self.timeAmount(min(timeout, .seconds(10))))
    // TLS stays at its default: certificates are verified.
    self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
  }

  deinit {
    // `finish()` shuts the client down; this catches a run that never got there. A second
    // shutdown only reports an error, which nobody needs.
    client.shutdown { _ in }
  }

  public var writesAtFinish: Bool { false }

  public func prepare() async throws {
    _ = try endpoint.get()
  }

  public func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    let endpoint = try endpoint.get()
    guard !batch.records.isEmpty || batch.operation == .clear else { return [] }
    let body = requestBody(operation: batch.operation, records: batch.records)
    switch try await deliver(body, to: endpoint, idempotencyKey: idempotencyKey(batch.number)) {
    case let .accepted(answer):
      return HTTPAnswer.outcomes(for: batch.records, body: answer, redact: redact.callAsFunction)
    case let .failed(reason):
      return Array(repeating: .failed(reason), count: batch.records.count)
    }
  }

  /// Sends `operation: "clear"` with no records, as batch 0 of the run.
  public func clear() async throws {
    let endpoint = try endpoint.get()
    let body = requestBody(operation: .clear, records: [])
    if case let .failed(reason) = try await deliver(body, to: endpoint, idempotencyKey: idempotencyKey(0)) {
      throw DestinationError("destination \(name): \(requestLine) (clear): \(reason)")
    }
  }

  public func sweep() async throws -> any DestinationSweep {
    throw DestinationError(
      "destination \(name): the HTTP protocol cannot list records, so mirror's first run cannot find"
        + " the ones to delete")
  }

  public func finish() async throws {
    do {
      try await client.shutdown()
    } catch let error as HTTPClientError where error == .alreadyShutdown {
      // finish() twice is harmless.
    }
  }

  // MARK: The request

  /// `POST /contacts`: what messages show instead of the URL.
  private var requestLine: String { "POST /\(target.object)" }

  private func idempotencyKey(_ batch: Int) -> String {
    "\(target.syncID)-\(target.runID)-\(batch)"
  }

  /// The protocol's body, members in the documented order.
  func requestBody(operation: DestinationOperation, records: [DestinationRecord]) -> String {
    let items: [JSONValue] = records.map { record in
      var members: [(String, JSONValue)] = [("key", record.key)]
      switch operation {
      case .delete, .remove, .clear:
        break
      case .clearFields:
        members.append(("fields", .object(target.fields.map { ($0, .null) })))
      case .upsert, .update, .insert, .add, .track:
        members.append(("fields", .object(Array(zip(target.fields, record.values)))))
      }
      return .object(members)
    }
    let body: JSONValue = .object([
      ("sync", .string(target.syncName)),
      ("sync_id", .int(target.syncID)),
      ("run_id", .int(target.runID)),
      ("operation", .string(operation.rawValue)),
      ("match_field", target.matchField.map(JSONValue.string) ?? .null),
      ("records", .array(items)),
    ])
    return body.rendered(compact: true)
  }

  // MARK: Delivery with retries

  private enum Delivery {
    /// A 2xx answer and its body.
    case accepted(String)
    /// Why every record of the batch failed.
    case failed(String)
  }

  private enum Attempt {
    case accepted(String)
    case failed(String, retryable: Bool, retryAfter: Duration?)
  }

  private func deliver(_ body: String, to endpoint: HTTPEndpoint, idempotencyKey: String) async throws
    -> Delivery
  {
    var request = HTTPClientRequest(url: endpoint.url(for: target.object))
    request.method = .POST
    request.headers = headers
    request.headers.replaceOrAdd(name: "Idempotency-Key", value: idempotencyKey)
    request.body = .bytes(ByteBuffer(string: body))
    let trace = target.trace
    func traceRequest(attempt: Int) {
      trace?(
        .request(
          method: "POST", url: request.url,
          headers: request.headers.map { DestinationTraceEvent.TraceHeader(name: $0.name, value: $0.value) },
          body: body, attempt: attempt))
    }
    if trace?.dryRun == true {
      traceRequest(attempt: 1)
      return .accepted("")
    }

    var attempt = 0
    while true {
      attempt += 1
      if trace != nil { traceRequest(attempt: attempt) }
      switch try await send(request) {
      case let .accepted(answer):
        return .accepted(answer)
      case let .failed(reason, retryable: false, _):
        return .failed(reason)
      case let .failed(reason, retryable: true, retryAfter):
        switch policy.decision(afterAttempt: attempt, retryAfter: retryAfter) {
        case let .retry(after: delay):
          trace?(.retrying(after: delay))
          if delay > .zero { try await Task.sleep(for: delay) }
        case .retriesExhausted:
          return .failed(reason)
        case let .retryAfterTooLong(wait):
          return .failed(
            "\(reason) (Retry-After asks for \(Self.describe(wait)), longer than the"
              + " \(Self.describe(policy.maximumRetryAfter)) Backflow waits)")
        }
      }
    }
  }

  /// One request and its answer, classified.
  private func send(_ request: HTTPClientRequest) async throws -> Attempt {
    let status: HTTPResponseStatus
    let retryAfter: Duration?
    let answer: String
    do {
      let response = try await client.execute(request, timeout: Self.timeAmount(timeout))
      status = response.status
      retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryPolicy.retryAfter($0) }
      answer = String(buffer: try await response.body.collect(upTo: Self.maximumAnswerBytes))
    } catch is NIOTooManyBytesError {
      target.trace?(.result("the answer is larger than \(Self.maximumAnswerBytes / 1024 / 1024) MiB; it was not read"))
      return .failed(
        "\(requestLine): the answer is larger than \(Self.maximumAnswerBytes / 1024 / 1024) MiB",
        retryable: false, retryAfter: nil)
    } catch {
      if error is CancellationError || (error as? HTTPClientError) == .cancelled { throw CancellationError() }
      let (reason, retryable) = transportFailure(error)
      target.trace?(.noResponse(reason))
      return .failed(redact("\(requestLine): \(reason)"), retryable: retryable, retryAfter: nil)
    }
    target.trace?(.response(status: Int(status.code), reason: status.reasonPhrase, body: answer))
    if (200..<300).contains(status.code) { return .accepted(answer) }
    let reason = HTTPAnswer.failure(
      status: Int(status.code), reasonPhrase: status.reasonPhrase, body: answer, redact: redact.callAsFunction
    )
    let retryable = status == .tooManyRequests || (500..<600).contains(status.code)
    return .failed(reason, retryable: retryable, retryAfter: retryable ? retryAfter : nil)
  }

  /// A failure without an answer in words, and whether trying again may help. Error
  /// descriptions are not passed through as they are: some carry header values or the host.
  private func transportFailure(_ error: any Error) -> (String, Bool) {
    if let error = error as? HTTPClientError {
      switch error {
      case .readTimeout, .deadlineExceeded:
        return ("no answer within \(Self.describe(timeout))", true)
      case .connectTimeout, .getConnectionFromPoolTimeout:
        return ("could not connect within \(Self.describe(min(timeout, .seconds(10))))", true)
      case .tlsHandshakeTimeout:
        return ("the TLS handshake timed out", true)
      case .remoteConnectionClosed, .uncleanShutdown:
        return ("the server closed the connection without answering", true)
      case .writeTimeout:
        return ("timed out sending the request", true)
      default:
        return (error.shortDescription, false)
      }
    }
    if let error = Self.ioError(in: error) {
      switch error.errnoCode {
      case ECONNREFUSED: return ("connection refused", true)
      case ECONNRESET: return ("connection reset by the server", true)
      case EPIPE: return ("the server closed the connection (broken pipe)", true)
      case ETIMEDOUT: return ("the connection timed out", true)
      case EHOSTUNREACH, ENETUNREACH: return ("the server cannot be reached", true)
      default: return ("network error (\(String(cString: strerror(error.errnoCode))))", true)
      }
    }
    if error is ChannelError { return ("the connection failed (\(error))", true) }
    let kind = String(describing: type(of: error))
    if kind.contains("SSL") || kind.contains("TLS") {
      // A certificate that does not verify will not verify on the next attempt either.
      return ("TLS failed: \(error)", false)
    }
    if kind.contains("NIOConnectionError") { return ("could not connect", true) }
    return ("request failed: \(error)", false)
  }

  /// The `IOError` inside an error, looked for in wrappers such as `NIOConnectionError`, which
  /// keeps one per address it tried.
  private static func ioError(in value: Any, depth: Int = 0) -> IOError? {
    if let error = value as? IOError { return error }
    guard depth < 4 else { return nil }
    for child in Mirror(reflecting: value).children {
      if let found = ioError(in: child.value, depth: depth + 1) { return found }
    }
    return nil
  }

  // MARK: Helpers

  /// Why a configured header cannot be sent, naming the header but never its value.
  static func headerProblem(_ name: String, _ value: String) -> String? {
    let token = CharacterSet(
      charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if name.isEmpty || !name.unicodeScalars.allSatisfy(token.contains) {
      return "header name \(JSONValue.quoted(name)) is not a valid HTTP header name"
    }
    if value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
      return "header \(name) has a value with a control character (a line break?)"
    }
    return nil
  }

  private static func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }

  /// `30s`, `1.5s`, `5m`.
  static func describe(_ duration: Duration) -> String {
    let seconds = duration.inSeconds
    if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
    if seconds.rounded() == seconds { return "\(Int(seconds))s" }
    return "\((seconds * 1000).rounded() / 1000)s"
  }
}
