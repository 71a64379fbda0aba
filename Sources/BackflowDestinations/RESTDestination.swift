import BackflowConfig
import Foundation
import NIOHTTP1

/// How to reach a rest destination, from its settings (docs/rest.md).
public struct RESTConnection: Sendable {
  public var name: String
  public var baseURL: String
  /// Headers every request carries, the auth header among them.
  public var headers: [(String, String)]
  /// Query parameters every request carries (`auth: { query: … }`).
  public var query: [(String, String)]
  /// Texts never shown: credentials, whatever came from the environment.
  public var secrets: [String]
  public var retryPolicy: RetryPolicy
  public var timeout: Duration
  /// Requests per second across every sync on this destination, if limited.
  public var rate: Double?
  /// Requests in flight at once across every sync on this destination.
  public var concurrency: Int
  /// Whether requests carry an `Idempotency-Key`.
  public var idempotencyHeader: Bool
  /// OAuth2 client credentials, when requests carry a token fetched from the API.
  public var oauth2: OAuth2Token.Settings?

  public init(
    name: String, baseURL: String, headers: [(String, String)], query: [(String, String)], secrets: [String],
    retryPolicy: RetryPolicy, timeout: Duration, rate: Double?, concurrency: Int, idempotencyHeader: Bool,
    oauth2: OAuth2Token.Settings? = nil
  ) {
    self.oauth2 = oauth2
    self.name = name
    self.baseURL = baseURL
    self.headers = headers
    self.query = query
    self.secrets = secrets
    self.retryPolicy = retryPolicy
    self.timeout = timeout
    self.rate = rate
    self.concurrency = concurrency
    self.idempotencyHeader = idempotencyHeader
  }
}

/// A destination any REST API can be: each operation is sent as the request the sync's
/// `requests:` describes, its answer read through `result:` (docs/rest.md). Retries, back-off
/// and redaction are the HTTP destination's (`HTTPTransport`); `rate` and `concurrency` are shared
/// by every sync on the destination (`RESTLimits`).
///
/// Messages name the destination and the request's method and path template, never the URL or
/// a header value.
public final class RESTDestination: DestinationConnector {
  private let connection: RESTConnection
  private let target: DestinationTarget
  private let transport: HTTPTransport
  private let limits: RESTLimits
  private let token: OAuth2Token?
  private let requests: [String: RESTRequest]

  public init(connection: RESTConnection, target: DestinationTarget) throws {
    self.connection = connection
    self.target = target
    transport = HTTPTransport(
      baseURL: connection.baseURL, headers: connection.headers,
      secrets: connection.secrets + (target.requests?.secrets ?? []),
      timeout: connection.timeout, retryPolicy: connection.retryPolicy, name: connection.name,
      concurrency: max(connection.concurrency, target.concurrency), trace: target.trace,
      messageLimit: RESTAnswer.messageLimit)
    limits = RESTLimits.shared(destination: connection.name, rate: connection.rate, concurrency: connection.concurrency)
    token = connection.oauth2.map(OAuth2Token.init)
    var requests: [String: RESTRequest] = [:]
    for (operation, template) in target.requests?.requests ?? [] {
      requests[operation.value] = try RESTRequest(template)
    }
    self.requests = requests
  }

  public var writesAtFinish: Bool { false }

  public func prepare() async throws {
    _ = try transport.endpoint.get()
  }

  public func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    guard !batch.records.isEmpty else { return [] }
    guard let request = requests[batch.operation.rawValue] else {
      throw DestinationError(
        "destination \(connection.name): the sync has no request for \(batch.operation.rawValue); add "
          + "requests.\(batch.operation.rawValue) to \(target.syncName)")
    }
    let records = batch.records.map { record(for: $0, operation: batch.operation, request: request) }
    var outcomes = [RecordOutcome](repeating: .succeeded, count: records.count)
    var part = 0
    let size = request.batchSize ?? records.count
    for start in stride(from: 0, to: records.count, by: size) {
      let indices = Array(start..<min(start + size, records.count))
      for (index, outcome) in try await send(
        request, indices, of: records, keys: batch.records.map(\.key), batch: batch, part: &part)
      {
        outcomes[index] = outcome
      }
    }
    return outcomes
  }

  /// `resync --clear`: the sync's `clear` request, sent once with no records.
  public func clear() async throws {
    guard let request = requests[DestinationOperation.clear.rawValue] else {
      throw DestinationError(
        "destination \(connection.name): the sync has no clear request, so resync --clear cannot empty "
          + "\(target.object); add requests.clear, or resync without --clear")
    }
    let rendered: RESTRequest.Rendered
    do {
      rendered = try request.render(context(batch: 0, operation: .clear), records: [])
    } catch {
      throw DestinationError("destination \(connection.name): \(requestLine(request)) (clear): \(FailureKind.message(of: error))")
    }
    if case let .failed(reason, _, _) = try await deliver(rendered, request, key: idempotencyKey(batch: 0, part: 0)) {
      throw DestinationError("destination \(connection.name): \(requestLine(request)) (clear): \(reason)")
    }
  }

  public func sweep() async throws -> any DestinationSweep {
    throw DestinationError(
      "destination \(connection.name): a rest destination cannot list its records yet, so mirror's first run "
        + "cannot find the ones to delete")
  }

  public func finish() async throws {
    try await transport.shutdown()
  }

  // MARK: Sending

  /// Sends the records at `indices` in one request and returns their outcomes. A 4xx answer the
  /// `result:` paths read fails the records it names and sends the others again; any other 400 or
  /// 422 is split in halves down to the record at fault.
  private func send(
    _ request: RESTRequest, _ indices: [Int], of records: [JSONValue], keys: [JSONValue], batch: DestinationBatch,
    part: inout Int
  ) async throws -> [(Int, RecordOutcome)] {
    var sending = indices
    var outcomes: [(Int, RecordOutcome)] = []
    // A record whose `$item` does not render fails alone; the request goes without it.
    var rendered: RESTRequest.Rendered?
    while rendered == nil, !sending.isEmpty {
      do {
        rendered = try request.render(context(batch: batch.number, operation: batch.operation), records: sending.map { records[$0] })
      } catch let failure as RESTRequest.RecordFailure {
        outcomes.append((sending[failure.index], .failed(transport.redact(failure.reason))))
        sending.remove(at: failure.index)
      } catch {
        return outcomes + sending.map { ($0, .failed(transport.redact(FailureKind.message(of: error)))) }
      }
    }
    guard let rendered else { return outcomes }
    part += 1
    let delivery = try await deliver(rendered, request, key: idempotencyKey(batch: batch.number, part: part))
    let sentKeys = sending.map { keys[$0] }
    switch delivery {
    case let .accepted(body):
      guard let paths = request.template.result else { return outcomes + sending.map { ($0, .succeeded) } }
      do {
        let named = try RESTAnswer.outcomes(body, paths: paths, keys: sentKeys, status: 200)
        return outcomes + zip(sending, named).map { ($0, redacted($1 ?? .succeeded)) }
      } catch {
        return outcomes + sending.map { ($0, .failed(transport.redact(error.reason))) }
      }
    case let .failed(reason, status?, body) where (400..<500).contains(status) && ![401, 403, 429].contains(status):
      if let paths = request.template.result,
        let named = try? RESTAnswer.outcomes(body, paths: paths, keys: sentKeys, status: status),
        named.contains(where: { $0 != nil })
      {
        // The API rejected the whole request for the records it names: the others go again.
        let again = zip(sending, named).filter { $0.1 == nil }.map(\.0)
        outcomes += zip(sending, named).compactMap { index, outcome in outcome.map { (index, redacted($0)) } }
        if !again.isEmpty {
          outcomes += try await send(request, again, of: records, keys: keys, batch: batch, part: &part)
        }
        return outcomes
      }
      guard status == 400 || status == 422, sending.count > 1 else {
        return outcomes + sending.map { ($0, .failed(reason)) }
      }
      let half = sending.count / 2
      outcomes += try await send(request, Array(sending[..<half]), of: records, keys: keys, batch: batch, part: &part)
      outcomes += try await send(request, Array(sending[half...]), of: records, keys: keys, batch: batch, part: &part)
      return outcomes
    case let .failed(reason, _, _):
      return outcomes + sending.map { ($0, .failed(reason)) }
    }
  }

  /// One request through the destination's shared limits, retried by the transport.
  private func deliver(_ rendered: RESTRequest.Rendered, _ request: RESTRequest, key: String) async throws
    -> HTTPTransport.Delivery
  {
    let url = try transport.endpoint.get().url(path: rendered.path, query: connection.query + rendered.query)
    let outgoing = HTTPTransport.Outgoing(
      method: rendered.method, url: url, headers: rendered.headers, body: rendered.body)
    await limits.acquire()
    do {
      let delivery = try await deliverWithToken(outgoing, requestLine: requestLine(request), key: key)
      await limits.release()
      return delivery
    } catch {
      await limits.release()
      throw error
    }
  }

  /// Sends with the current OAuth2 token, if any; a 401 renews the token and sends once more,
  /// outside the `retries` count.
  private func deliverWithToken(_ outgoing: HTTPTransport.Outgoing, requestLine: String, key: String) async throws
    -> HTTPTransport.Delivery
  {
    var renewed = false
    while true {
      var used: String?
      let delivery = try await transport.deliver(
        outgoing, requestLine: requestLine, idempotencyKey: connection.idempotencyHeader ? key : nil,
        beforeAttempt: { [limits, token, transport] in
          try await limits.paced()
          guard let token else { return [] }
          let value = try await token.value(through: transport)
          used = value
          return [("Authorization", "Bearer \(value)")]
        })
      if case .failed(_, 401?, _) = delivery, let token, let used, !renewed {
        await token.refused(used)
        renewed = true
        continue
      }
      return delivery
    }
  }

  private func redacted(_ outcome: RecordOutcome) -> RecordOutcome {
    guard case let .failed(reason) = outcome else { return outcome }
    return .failed(transport.redact(reason))
  }

  // MARK: The template context

  /// What every template of a request may read besides `records` and `record`.
  private func context(batch: Int, operation: DestinationOperation) -> [String: JSONValue] {
    [
      "object": .string(target.object), "sync": .string(target.syncName), "sync_id": .int(target.syncID),
      "run_id": .int(target.runID), "batch": .int(batch), "operation": .string(operation.rawValue),
    ]
  }

  /// A record as templates see it: `{key, fields, row}`, `fields` nested by the mappings' dotted
  /// `to`, `row` the model row when a template reads it; a `clear_fields` record's fields are the
  /// request's `clear_value`.
  private func record(for record: DestinationRecord, operation: DestinationOperation, request: RESTRequest)
    -> JSONValue
  {
    let values =
      operation == .clearFields
      ? Array(repeating: request.template.clearValue.map { JSONValue($0.value) } ?? .null, count: target.fields.count)
      : record.values
    return .object([("key", record.key), ("fields", target.nestedFields(values))] + (record.row.map { [("row", $0)] } ?? []))
  }

  /// `POST /crm/v3/objects/{{ object }}/batch/upsert`: the template, which holds no secret
  /// unless it reads `${…}`, redacted all the same.
  private func requestLine(_ request: RESTRequest) -> String {
    transport.redact("\(request.method.rawValue) \(request.template.path.isSecret ? "[redacted]" : request.template.path.value)")
  }

  /// `{sync_id}-{run_id}-{batch}-{part}`: the same on every retry of one request, and never the
  /// same for two requests.
  private func idempotencyKey(batch: Int, part: Int) -> String {
    "\(target.syncID)-\(target.runID)-\(batch)-\(part)"
  }
}
