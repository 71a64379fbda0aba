import BackflowConfig

/// Follows what a connector sends and what comes back, for `backflow test`. Apply leaves
/// `DestinationTarget.trace` nil, and connectors then behave exactly as without it.
///
/// Every text an event carries passes through the trace's redaction first, so a consumer
/// cannot print a secret by accident.
public struct DestinationTrace: Sendable {
  /// Report what would be sent without sending it: connectors still `prepare` (read-only
  /// checks of the table, file or URL) but write nothing, and `send` answers `.succeeded` for
  /// every record it did not send.
  public var dryRun: Bool
  private let redactor: HTTPRedactor
  private let handler: @Sendable (DestinationTraceEvent) -> Void

  /// `secrets` are values to hide wherever they appear (values read from the environment);
  /// `handler` receives each event as it happens.
  public init(
    dryRun: Bool = false, secrets: [String] = [], _ handler: @escaping @Sendable (DestinationTraceEvent) -> Void
  ) {
    self.dryRun = dryRun
    self.redactor = HTTPRedactor(headerValues: secrets, url: "")
    self.handler = handler
  }

  /// Reports `event`, its secrets replaced by `[redacted]`.
  public func callAsFunction(_ event: DestinationTraceEvent) {
    handler(event.redacted(by: redactor.callAsFunction))
  }

  /// `text` with the trace's secrets replaced by `[redacted]`.
  public func redact(_ text: String) -> String {
    redactor(text)
  }

  /// The values of `destination` and `sync` that came from the environment: the texts a
  /// trace must never show.
  public static func secrets(of destination: Destination, sync: Sync) -> [String] {
    var secrets = destination.settings.secrets + (sync.requests?.secrets ?? [])
    for mapping in sync.mappings {
      guard case let .value(value) = mapping.origin, value.isSecret else { continue }
      switch value.value {
      case let .string(text): secrets.append(text)
      case let .integer(number): secrets.append(String(number))
      case let .number(number): secrets.append(String(number))
      case .boolean, .null: break
      }
    }
    return secrets
  }
}

/// One step of a connector's traffic.
public enum DestinationTraceEvent: Sendable, Equatable {
  /// An HTTP request as sent (`attempt` counts from 1), or as it would be sent in a dry run.
  case request(method: String, url: String, headers: [TraceHeader], body: String, attempt: Int)
  /// The answer to the last request: status, reason phrase and body.
  case response(status: Int, reason: String, body: String)
  /// The last request got no answer (refused, reset, timed out).
  case noResponse(String)
  /// The request is sent again after this wait.
  case retrying(after: Duration)
  /// A statement sent to a database, with the values bound to `?1`… or `$1`… shown as SQL
  /// literals.
  case statement(sql: String, parameters: [String])
  /// A `COPY … FROM STDIN` and the rows it sent, each value shown as a SQL literal.
  case copy(sql: String, rows: [[String]])
  /// What the database, file or connector made of the last step: rows changed, the line
  /// written, an error.
  case result(String)
  /// A line of a file destination's file as it will be written.
  case line(file: String, text: String)

  /// One header of a traced request.
  public struct TraceHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
      self.name = name
      self.value = value
    }
  }

  fileprivate func redacted(by redact: (String) -> String) -> DestinationTraceEvent {
    switch self {
    case let .request(method, url, headers, body, attempt):
      .request(
        method: method, url: redact(url),
        headers: headers.map { TraceHeader(name: $0.name, value: redact($0.value)) }, body: redact(body),
        attempt: attempt)
    case let .response(status, reason, body): .response(status: status, reason: reason, body: redact(body))
    case let .noResponse(reason): .noResponse(redact(reason))
    case .retrying: self
    case let .statement(sql, parameters): .statement(sql: sql, parameters: parameters.map(redact))
    case let .copy(sql, rows): .copy(sql: sql, rows: rows.map { $0.map(redact) })
    case let .result(text): .result(redact(text))
    case let .line(file, text): .line(file: redact(file), text: redact(text))
    }
  }
}

/// SQL literals for traces: how a value bound or copied would be written in a statement.
enum TraceLiteral {
  /// `'text'` with quotes doubled, `NULL` for nil.
  static func text(_ value: String?) -> String {
    guard let value else { return "NULL" }
    return "'" + value.replacing("'", with: "''") + "'"
  }
}
