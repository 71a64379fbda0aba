import BackflowConfig
import Foundation

/// What every request to a rest destination goes through, whether it sends records (apply) or
/// reads them back (drift, mirror's sweep, id look-ups): the destination's shared `rate` and
/// `concurrency` (`RESTLimits`), the OAuth2 token, retries and redaction (`HTTPTransport`).
struct RESTClient: Sendable {
  let connection: RESTConnection
  let target: DestinationTarget
  let transport: HTTPTransport
  private let limits: RESTLimits
  private let token: OAuth2Token?

  init(connection: RESTConnection, target: DestinationTarget) {
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
  }

  /// One request through the destination's shared limits, retried by the transport; `url` (a
  /// listing's `next_url`) replaces the rendered path and query.
  func deliver(_ rendered: RESTRequest.Rendered, _ request: RESTRequest, key: String?, url: String? = nil) async throws
    -> HTTPTransport.Delivery
  {
    let url = try url ?? transport.endpoint.get().url(path: rendered.path, query: connection.query + rendered.query)
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
  private func deliverWithToken(_ outgoing: HTTPTransport.Outgoing, requestLine: String, key: String?) async throws
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

  func redacted(_ outcome: RecordOutcome) -> RecordOutcome {
    guard case let .failed(reason) = outcome else { return outcome }
    return .failed(transport.redact(reason))
  }

  /// What every template of a request may read besides `records` and `record`.
  func context(batch: Int, operation: String) -> [String: JSONValue] {
    [
      "object": .string(target.object), "sync": .string(target.syncName), "sync_id": .int(target.syncID),
      "run_id": .int(target.runID), "batch": .int(batch), "operation": .string(operation),
    ]
  }

  /// `POST /crm/v3/objects/{{ object }}/batch/upsert`: the template, which holds no secret
  /// unless it reads `${…}`, redacted all the same.
  func requestLine(_ request: RESTRequest) -> String {
    transport.redact("\(request.method.rawValue) \(request.template.path.isSecret ? "[redacted]" : request.template.path.value)")
  }

  /// `{sync_id}-{run_id}-{batch}-{part}`: the same on every retry of one request, and never the
  /// same for two requests.
  func idempotencyKey(batch: Int, part: Int) -> String {
    "\(target.syncID)-\(target.runID)-\(batch)-\(part)"
  }

  /// `next_url` when it points at the destination's own server (scheme, host and port), with the
  /// `auth: { query }` parameter it lacks; `nil` for any other server, which must never see the
  /// credentials.
  func sameServer(_ url: String) -> String? {
    guard let next = URLComponents(string: url), let base = URLComponents(string: connection.baseURL),
      next.scheme?.lowercased() == base.scheme?.lowercased(), next.host?.lowercased() == base.host?.lowercased(),
      next.port == base.port
    else { return nil }
    var components = next
    var items = components.queryItems ?? []
    for (name, value) in connection.query where !items.contains(where: { $0.name == name }) {
      items.append(URLQueryItem(name: name, value: value))
    }
    if !items.isEmpty { components.queryItems = items }
    return components.string
  }
}
