import BackflowConfig
import Foundation

/// The generic JSON protocol (docs: "The HTTP protocol"): one `POST {url}/{object}` per batch,
/// per-record results in a 2xx answer, retries with back-off on 429, 5xx, resets and time-outs
/// (`HTTPTransport`). A destination declared `readable` also lists its keys for mirror's first
/// run (`HTTPSweep`).
///
/// Messages name the destination and `POST /{object}`, never the URL or a header value: both may
/// come from the environment.
public final class HTTPDestination: DestinationConnector {
  /// The destination's name in `backflow.yaml`, for messages.
  public let name: String
  private let target: DestinationTarget
  private let transport: HTTPTransport
  private let readable: Bool

  /// The connector for one run. Nothing is checked here: `prepare()` reports a URL or header
  /// that cannot be used. `readable` says the server implements the read endpoints.
  public convenience init(
    baseURL: String, headers: [(String, String)], retries: Int, timeout: Duration,
    target: DestinationTarget, name: String = "http", readable: Bool = false
  ) throws {
    try self.init(
      baseURL: baseURL, headers: headers, timeout: timeout, target: target, name: name,
      retryPolicy: RetryPolicy(retries: retries), readable: readable)
  }

  /// As above, with the back-off spelled out (tests shorten it).
  public init(
    baseURL: String, headers: [(String, String)], timeout: Duration, target: DestinationTarget,
    name: String = "http", retryPolicy: RetryPolicy, readable: Bool = false
  ) throws {
    self.name = name
    self.target = target
    self.readable = readable
    self.transport = HTTPTransport(
      baseURL: baseURL, headers: headers, timeout: timeout, retryPolicy: retryPolicy, name: name,
      concurrency: target.concurrency, trace: target.trace)
  }

  public var writesAtFinish: Bool { false }

  public func prepare() async throws {
    _ = try transport.endpoint.get()
  }

  public func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    guard !batch.records.isEmpty || batch.operation == .clear else { return [] }
    return try await send(batch.operation, batch.records, idempotencyKey: idempotencyKey(batch.number))
  }

  private func send(_ operation: DestinationOperation, _ records: [DestinationRecord], idempotencyKey: String)
    async throws -> [RecordOutcome]
  {
    let body = requestBody(operation: operation, records: records)
    switch try await transport.post(body, path: target.object, requestLine: requestLine, idempotencyKey: idempotencyKey)
    {
    case let .accepted(answer):
      return HTTPAnswer.outcomes(for: records, body: answer, redact: transport.redact.callAsFunction)
    case let .failed(reason, _, _):
      return Array(repeating: .failed(reason), count: records.count)
    }
  }

  /// Sends `operation: "clear"` with no records, as batch 0 of the run.
  public func clear() async throws {
    let body = requestBody(operation: .clear, records: [])
    if case let .failed(reason, _, _) = try await transport.post(
      body, path: target.object, requestLine: requestLine, idempotencyKey: idempotencyKey(0))
    {
      throw DestinationError("destination \(name): \(requestLine) (clear): \(reason)")
    }
  }

  public func sweep() async throws -> any DestinationSweep {
    guard readable else {
      throw DestinationError(
        "destination \(name): the HTTP protocol cannot list records without the read endpoints (readable: true), "
          + "so mirror's first run cannot find the ones to delete")
    }
    // Its deletions are not batches of the run: their idempotency keys say so.
    let prefix = "\(target.syncID)-\(target.runID)-sweep-"
    let reader = HTTPReadEndpoints(transport: transport, target: target)
    return try HTTPSweep(
      name: name,
      pages: { page in try await reader.eachPage { keys in try await page(keys.map { DestinationRecord(key: $0, values: []) }) } }
    ) { [self] records, number in
      try await self.send(.delete, records, idempotencyKey: prefix + String(number))
    }
  }

  public func finish() async throws {
    try await transport.shutdown()
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
        members.append(("fields", target.nestedFields(Array(repeating: .null, count: target.fields.count))))
      case .upsert, .update, .insert, .add, .track:
        members.append(("fields", target.nestedFields(record.values)))
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
}
