import AsyncHTTPClient
import BackflowConfig
import Foundation
import NIOCore
import NIOHTTP1

/// One http destination's connection: its checked URL and headers, the client, and `POST`s with
/// retries and back-off (`RetryPolicy`). Apply's `HTTPDestination` and drift's
/// `HTTPDestinationReader` share it, so both send the same headers, honour the same `retries` and
/// `timeout`, and print the same redacted messages.
///
/// Messages name the destination and the request line (`POST /contacts`), never the URL or a
/// header value: both may come from the environment.
final class HTTPTransport: Sendable {
  /// An answer body larger than this is not read; the request fails.
  static let maximumAnswerBytes = 16 * 1024 * 1024

  /// What became of a request, after its retries.
  enum Delivery {
    /// A 2xx answer and its body.
    case accepted(String)
    /// Why the request failed, with the last status and body when there was an answer.
    case failed(String, status: Int?, body: String)
  }

  /// The destination's name in `backflow.yaml`, for messages.
  let name: String
  let endpoint: Result<HTTPEndpoint, DestinationError>
  let redact: HTTPRedactor
  /// How much of an answer's message a failure quotes (`HTTPAnswer.shortened`).
  private let messageLimit: Int
  private let headers: HTTPHeaders
  private let timeout: Duration
  private let policy: RetryPolicy
  private let trace: DestinationTrace?
  private let client: HTTPClient

  /// Nothing is checked here: `endpoint` holds why the URL, a header or the timeout cannot be used.
  /// `secrets` are credentials sent some other way than in `headers` or the URL (a query
  /// parameter's value, a basic password), hidden from messages all the same.
  init(
    baseURL: String, headers: [(String, String)], secrets: [String] = [], timeout: Duration, retryPolicy: RetryPolicy,
    name: String, concurrency: Int, trace: DestinationTrace?, messageLimit: Int = HTTPAnswer.messageLimit
  ) {
    self.name = name
    self.messageLimit = messageLimit
    self.timeout = timeout
    self.policy = retryPolicy
    self.trace = trace
    self.redact = HTTPRedactor(headerValues: headers.map(\.1) + secrets, url: baseURL)

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
    // the request like any other 4xx instead.
    configuration.redirectConfiguration = .disallow
    // Connection failures come back at once, for the retry policy to handle: the pool's own
    // retrying would hold a refused connection until the request's deadline.
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, concurrency)
    configuration.timeout = .init(connect: TimeAmount(min(timeout, .seconds(10))))
    // TLS stays at its default: certificates are verified.
    self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
  }

  deinit {
    // `shutdown()` is the way out; this catches a run that never got there. A second shutdown
    // only reports an error, which nobody needs.
    client.shutdown { _ in }
  }

  func shutdown() async throws {
    do {
      try await client.shutdown()
    } catch let error as HTTPClientError where error == .alreadyShutdown {
      // Twice is harmless.
    }
  }

  // MARK: Delivery with retries

  private enum Attempt {
    case accepted(String)
    case failed(String, status: Int?, body: String, retryable: Bool, retryAfter: Duration?)
  }

  /// POSTs `body` to `{url}/{path}` until it is answered with 2xx, fails for good, or the retries
  /// run out. `requestLine` (`POST /contacts`) stands for the URL in messages.
  func post(_ body: String, path: String, requestLine: String, idempotencyKey: String? = nil) async throws
    -> Delivery
  {
    let url = try endpoint.get().url(for: path)
    return try await deliver(
      Outgoing(method: .POST, url: url, body: body), requestLine: requestLine, idempotencyKey: idempotencyKey)
  }

  /// One request to send: besides the destination's headers, its own (a content type, auth).
  struct Outgoing {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)] = []
    /// `nil` sends no body (GET).
    var body: String?
  }

  /// Sends `outgoing` until it is answered with 2xx, fails for good, or the retries run out.
  /// `beforeAttempt` runs before every attempt (a shared rate, a fresh token) and gives headers
  /// that attempt carries besides the request's. An untraced request (a token request, whose
  /// answer is a credential) is not shown by `backflow test`, nor sent in its dry run.
  func deliver(
    _ outgoing: Outgoing, requestLine: String, idempotencyKey: String? = nil, traced: Bool = true,
    beforeAttempt: () async throws -> [(String, String)] = { [] }
  ) async throws -> Delivery {
    _ = try endpoint.get()
    var headers = self.headers
    for (name, value) in outgoing.headers { headers.replaceOrAdd(name: name, value: value) }
    if let idempotencyKey { headers.replaceOrAdd(name: "Idempotency-Key", value: idempotencyKey) }
    if outgoing.body == nil { headers.remove(name: "Content-Type") }
    let trace = traced ? self.trace : nil
    // What `beforeAttempt` adds (a fresh token) is secret too, and unknown to `redact`.
    var attemptSecrets = HTTPRedactor(headerValues: [], url: "")
    func traceRequest(attempt: Int) {
      trace?(
        .request(
          method: outgoing.method.rawValue, url: outgoing.url,
          headers: headers.map { DestinationTraceEvent.TraceHeader(name: $0.name, value: attemptSecrets($0.value)) },
          body: outgoing.body ?? "", attempt: attempt))
    }
    if trace?.dryRun == true {
      traceRequest(attempt: 1)
      return .accepted("")
    }

    var attempt = 0
    while true {
      attempt += 1
      let added = try await beforeAttempt()
      attemptSecrets = HTTPRedactor(headerValues: added.map(\.1), url: "")
      for (name, value) in added { headers.replaceOrAdd(name: name, value: value) }
      if trace != nil { traceRequest(attempt: attempt) }
      switch try await send(outgoing, headers: headers, requestLine: requestLine, trace: trace) {
      case let .accepted(answer):
        return .accepted(answer)
      case let .failed(reason, status, body, retryable: false, _):
        return .failed(attemptSecrets(reason), status: status, body: body)
      case let .failed(unredacted, status, body, retryable: true, retryAfter):
        let reason = attemptSecrets(unredacted)
        switch policy.decision(afterAttempt: attempt, retryAfter: retryAfter) {
        case let .retry(after: delay):
          trace?(.retrying(after: delay))
          if delay > .zero { try await Task.sleep(for: delay) }
        case .retriesExhausted:
          return .failed(reason, status: status, body: body)
        case let .retryAfterTooLong(wait):
          return .failed(
            "\(reason) (Retry-After asks for \(Self.describe(wait)), longer than the"
              + " \(Self.describe(policy.maximumRetryAfter)) Backflow waits)", status: status, body: body)
        }
      }
    }
  }

  /// One request and its answer, classified.
  private func send(_ outgoing: Outgoing, headers: HTTPHeaders, requestLine: String, trace: DestinationTrace?)
    async throws -> Attempt
  {
    let response: HTTPClient.Response
    do {
      let request = try HTTPClient.Request(
        url: outgoing.url, method: outgoing.method, headers: headers, body: outgoing.body.map { .string($0) })
      response = try await execute(request)
    } catch is ResponseAccumulator.ResponseTooBigError {
      trace?(.result("the answer is larger than \(Self.maximumAnswerBytes / 1024 / 1024) MiB; it was not read"))
      return .failed(
        "\(requestLine): the answer is larger than \(Self.maximumAnswerBytes / 1024 / 1024) MiB",
        status: nil, body: "", retryable: false, retryAfter: nil)
    } catch {
      if error is CancellationError || (error as? HTTPClientError) == .cancelled { throw CancellationError() }
      let (reason, retryable) = transportFailure(error)
      trace?(.noResponse(reason))
      return .failed(redact("\(requestLine): \(reason)"), status: nil, body: "", retryable: retryable, retryAfter: nil)
    }
    let status = response.status
    let retryAfter =
      response.headers.first(name: "Retry-After").flatMap { RetryPolicy.retryAfter($0) }
      ?? policy.resetHeader.flatMap { response.headers.first(name: $0) }.flatMap { RetryPolicy.resetAfter($0) }
    let answer = response.body.map { String(buffer: $0) } ?? ""
    trace?(.response(status: Int(status.code), reason: status.reasonPhrase, body: answer))
    if (200..<300).contains(status.code) { return .accepted(answer) }
    let reason = HTTPAnswer.failure(
      status: Int(status.code), reasonPhrase: status.reasonPhrase, body: answer, limit: messageLimit,
      redact: redact.callAsFunction
    )
    let retryable =
      (status == .tooManyRequests && !policy.givesUp(onAnswer: answer)) || (500..<600).contains(status.code)
    return .failed(
      reason, status: Int(status.code), body: answer, retryable: retryable, retryAfter: retryable ? retryAfter : nil)
  }

  /// Sends `request` and reads its whole answer, which must come within the time-out. The
  /// time-out is a deadline on the connection's event loop, where the answer is read too: the
  /// async `execute(_:timeout:)` only acts on its deadline from a task on Swift's shared pool, and
  /// while that pool is busy an answer arriving meanwhile is taken however late it is.
  private func execute(_ request: HTTPClient.Request) async throws -> HTTPClient.Response {
    let task = client.execute(
      request: request, delegate: ResponseAccumulator(request: request, maxBodySize: Self.maximumAnswerBytes),
      deadline: .now() + TimeAmount(timeout))
    return try await withTaskCancellationHandler {
      try await task.get()
    } onCancel: {
      task.cancel()
    }
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

  /// `30s`, `1.5s`, `5m`.
  static func describe(_ duration: Duration) -> String {
    let seconds = duration.inSeconds
    if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
    if seconds.rounded() == seconds { return "\(Int(seconds))s" }
    return "\((seconds * 1000).rounded() / 1000)s"
  }
}
