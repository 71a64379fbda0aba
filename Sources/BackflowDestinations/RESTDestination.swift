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
/// by every sync on the destination (`RESTLimits`), through `RESTClient`.
///
/// Ids the answers name (`result.id`) go back to the run, which keeps them in state and gives
/// them to the row's later requests as `record.destination_id`; a record that needs one and has
/// none is looked up with the sync's `read:` request, or fails.
///
/// Messages name the destination and the request's method and path template, never the URL or
/// a header value.
public final class RESTDestination: DestinationConnector {
  static let noKeptID = "no destination id is kept for this record; declare `read:` to look it up"
  /// Mirror's sweep numbers its deletions from here, so their idempotency keys never meet the
  /// run's batches.
  static let sweepBatches = 1_000_000

  private let client: RESTClient
  private let requests: [String: RESTRequest]
  private let readBack: RESTReadBack

  public init(connection: RESTConnection, target: DestinationTarget) throws {
    client = RESTClient(connection: connection, target: target)
    var requests: [String: RESTRequest] = [:]
    for (operation, template) in target.requests?.requests ?? [] {
      requests[operation.value] = try RESTRequest(template)
    }
    self.requests = requests
    readBack = RESTReadBack(client: client, read: requests["read"], list: requests["list"])
  }

  private var connection: RESTConnection { client.connection }
  private var target: DestinationTarget { client.target }
  private var transport: HTTPTransport { client.transport }

  public var writesAtFinish: Bool { false }

  public var readsDestinationIDs: Bool { requests.values.contains(where: \.readsDestinationID) }

  public func prepare() async throws {
    _ = try transport.endpoint.get()
  }

  public func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    try await sendKeepingIDs(batch).map(\.outcome)
  }

  public func sendKeepingIDs(_ batch: DestinationBatch) async throws -> [DeliveredRecord] {
    guard !batch.records.isEmpty else { return [] }
    guard let request = requests[batch.operation.rawValue] else {
      throw DestinationError(
        "destination \(connection.name): the sync has no request for \(batch.operation.rawValue); add "
          + "requests.\(batch.operation.rawValue) to \(target.syncName)")
    }
    var delivered = batch.records.map { DeliveredRecord(outcome: .succeeded, destinationID: $0.destinationID) }
    var sendable = Array(batch.records.indices)
    if request.readsDestinationID {
      sendable = try await lookUpMissingIDs(batch.records, into: &delivered)
    }
    let records = batch.records.enumerated().map { index, record in
      self.record(for: record, id: delivered[index].destinationID, operation: batch.operation, request: request)
    }
    var part = 0
    let size = request.batchSize ?? records.count
    for start in stride(from: 0, to: sendable.count, by: size) {
      let indices = Array(sendable[start..<min(start + size, sendable.count)])
      for (index, outcome, id) in try await send(
        request, indices, of: records, keys: batch.records.map(\.key), batch: batch, part: &part)
      {
        delivered[index].outcome = outcome
        if let id { delivered[index].destinationID = id }
      }
    }
    return delivered
  }

  /// Looks up, with `read:`, the ids of records that have none kept; fails the records it cannot
  /// give one, since a template never sends `null` where an id is needed. Returns the indices of
  /// the records that can be sent.
  private func lookUpMissingIDs(_ records: [DestinationRecord], into delivered: inout [DeliveredRecord]) async throws
    -> [Int]
  {
    let missing = records.indices.filter { records[$0].destinationID == nil || records[$0].destinationID == .null }
    guard !missing.isEmpty else { return Array(records.indices) }
    guard readBack.canRead else {
      for index in missing { delivered[index].outcome = .failed(Self.noKeptID) }
      return records.indices.filter { !missing.contains($0) }
    }
    let found = try await readBack.read(missing.map { records[$0].key })
    var unsendable: Set<Int> = []
    for index in missing {
      if let id = found[readBack.comparable(records[index].key)]?.id, id != .null {
        delivered[index].destinationID = id
      } else {
        delivered[index].outcome = .failed(
          target.trace?.dryRun == true
            ? "no destination id is kept for this record; apply looks it up with read: first (a dry run sends nothing)"
            : "no destination id is kept for this record, and read: found no record with this key")
        unsendable.insert(index)
      }
    }
    return records.indices.filter { !unsendable.contains($0) }
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
      rendered = try request.render(client.context(batch: 0, operation: DestinationOperation.clear.rawValue), records: [])
    } catch {
      throw DestinationError(
        "destination \(connection.name): \(client.requestLine(request)) (clear): \(FailureKind.message(of: error))")
    }
    let delivery = try await client.deliver(rendered, request, key: client.idempotencyKey(batch: 0, part: 0))
    if case let .failed(reason, _, _) = delivery {
      throw DestinationError("destination \(connection.name): \(client.requestLine(request)) (clear): \(reason)")
    }
  }

  /// Mirror's first run: the sync's `list:` request pages through the destination's records,
  /// and those absent from the model go out through its `delete` request, by the ids the listing
  /// gives (or looked up with `read:`).
  public func sweep() async throws -> any DestinationSweep {
    guard readBack.canList else {
      throw DestinationError(
        "destination \(connection.name): the sync has no requests.list, so mirror's first run cannot find the "
          + "records absent from the model")
    }
    let readBack = readBack
    return try HTTPSweep(
      name: connection.name, pages: { page in try await readBack.eachPage(page) }, fold: { readBack.folded($0) }
    ) { [self] records, number in
      try await self.sendKeepingIDs(
        DestinationBatch(number: Self.sweepBatches + number, operation: .delete, records: records))
        .map(\.outcome)
    }
  }

  public func finish() async throws {
    try await transport.shutdown()
  }

  // MARK: Sending

  /// Sends the records at `indices` in one request and returns their outcomes, with the ids the
  /// answer names. A 4xx answer the `result:` paths read fails the records it names and sends the
  /// others again; any other 400 or 422 is split in halves down to the record at fault.
  private func send(
    _ request: RESTRequest, _ indices: [Int], of records: [JSONValue], keys: [JSONValue], batch: DestinationBatch,
    part: inout Int
  ) async throws -> [(Int, RecordOutcome, JSONValue?)] {
    var sending = indices
    var outcomes: [(Int, RecordOutcome, JSONValue?)] = []
    // A record whose `$item` does not render fails alone; the request goes without it.
    var rendered: RESTRequest.Rendered?
    let context = client.context(batch: batch.number, operation: batch.operation.rawValue)
    while rendered == nil, !sending.isEmpty {
      do {
        rendered = try request.render(context, records: sending.map { records[$0] })
      } catch let failure as RESTRequest.RecordFailure {
        outcomes.append((sending[failure.index], .failed(transport.redact(failure.reason)), nil))
        sending.remove(at: failure.index)
      } catch {
        return outcomes + sending.map { ($0, .failed(transport.redact(FailureKind.message(of: error))), nil) }
      }
    }
    guard let rendered else { return outcomes }
    part += 1
    let delivery = try await client.deliver(
      rendered, request, key: client.idempotencyKey(batch: batch.number, part: part))
    let sentKeys = sending.map { keys[$0] }
    switch delivery {
    case let .accepted(body):
      guard let paths = request.template.result else { return outcomes + sending.map { ($0, .succeeded, nil) } }
      do {
        let named = try RESTAnswer.outcomes(body, paths: paths, keys: sentKeys, status: 200)
        let ids = RESTAnswer.ids(body, paths: paths, keys: sentKeys)
        return outcomes + sending.indices.map { (sending[$0], client.redacted(named[$0] ?? .succeeded), ids[$0]) }
      } catch {
        return outcomes + sending.map { ($0, .failed(transport.redact(error.reason)), nil) }
      }
    case let .failed(reason, status?, body) where (400..<500).contains(status) && ![401, 403, 429].contains(status):
      if let paths = request.template.result,
        let named = try? RESTAnswer.outcomes(body, paths: paths, keys: sentKeys, status: status),
        named.contains(where: { $0 != nil })
      {
        // The API rejected the whole request for the records it names: the others go again.
        let again = zip(sending, named).filter { $0.1 == nil }.map(\.0)
        outcomes += zip(sending, named).compactMap { index, outcome in outcome.map { (index, client.redacted($0), nil) } }
        if !again.isEmpty {
          outcomes += try await send(request, again, of: records, keys: keys, batch: batch, part: &part)
        }
        return outcomes
      }
      guard status == 400 || status == 422, sending.count > 1 else {
        return outcomes + sending.map { ($0, .failed(reason), nil) }
      }
      let half = sending.count / 2
      outcomes += try await send(request, Array(sending[..<half]), of: records, keys: keys, batch: batch, part: &part)
      outcomes += try await send(request, Array(sending[half...]), of: records, keys: keys, batch: batch, part: &part)
      return outcomes
    case let .failed(reason, _, _):
      return outcomes + sending.map { ($0, .failed(reason), nil) }
    }
  }

  // MARK: The template context

  /// A record as templates see it: `{key, fields, destination_id, row}`, `fields` nested by the
  /// mappings' dotted `to`, `row` the model row when a template reads it; a `clear_fields`
  /// record's fields are the request's `clear_value`.
  private func record(
    for record: DestinationRecord, id: JSONValue?, operation: DestinationOperation, request: RESTRequest
  ) -> JSONValue {
    let values =
      operation == .clearFields
      ? Array(repeating: request.template.clearValue.map { JSONValue($0.value) } ?? .null, count: target.fields.count)
      : record.values
    return .object(
      [("key", record.key), ("fields", target.nestedFields(values)), ("destination_id", id ?? .null)]
        + (record.row.map { [("row", $0)] } ?? []))
  }
}
