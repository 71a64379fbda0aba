import BackflowConfig
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 server on 127.0.0.1 that implements Backflow's HTTP destination protocol the
/// way a team would in front of its API, for destination and engine tests.
///
/// Every request is kept (`requests`), records are stored per object (`records(in:)`), and tests
/// inject faults while it runs: rate limits, 503s, dropped connections, slow answers, rejected
/// keys, 400s. It implements the read endpoints (`/{object}/read`, `/{object}/keys`) unless
/// started without them, and tests change its records behind Backflow's back (`alter`,
/// `delete`, `add`) to make drift. Safe to use from any task; it serves concurrent connections.
public final class ProtocolServer: Sendable {
  /// One record as the server stores it.
  public struct Record: Sendable, Equatable {
    public var key: JSONValue
    /// A JSON object of the record's fields.
    public var fields: JSONValue

    public init(key: JSONValue, fields: JSONValue) {
      self.key = key
      self.fields = fields
    }
  }

  /// One request as received.
  public struct Request: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded: `/contacts`.
    public var path: String
    /// The query string as sent, without `?`; empty when there is none.
    public var query: String = ""
    public var headers: [(name: String, value: String)]
    /// The body as text, exactly as sent.
    public var text: String
    /// The body parsed as JSON; `nil` when it is not JSON.
    public var body: JSONValue?

    /// The first value of a header, its name compared case-insensitively.
    public func header(_ name: String) -> String? {
      headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The object the request is for: the path without its leading slash.
    public var object: String { String(path.drop { $0 == "/" }) }
  }

  /// What a stand-in API answers to one request.
  public struct Answer: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String

    public init(status: Int, headers: [(String, String)] = [], body: String) {
      self.status = status
      self.headers = headers
      self.body = body
    }

    public init(status: Int, headers: [(String, String)] = [], json: JSONValue) {
      self.init(status: status, headers: headers, body: json.rendered(compact: true))
    }
  }

  /// How the server misbehaves for the next requests.
  public enum Fault: Sendable {
    /// Answer with this instead of processing the request.
    case answer(status: Int, headers: [(String, String)], body: String)
    /// Close the connection without answering; the request is not processed.
    case drop
    /// Process the request, then answer only after this long.
    case delay(Duration)

    /// 429 with `Retry-After`.
    public static func tooManyRequests(retryAfter: String) -> Fault {
      .answer(status: 429, headers: [("Retry-After", retryAfter)], body: #"{"error": "rate limited"}"#)
    }

    /// 503 with a JSON `error`.
    public static func unavailable(_ message: String = "service unavailable") -> Fault {
      .answer(
        status: 503, headers: [],
        body: JSONValue.object([("error", .string(message))]).rendered(compact: true))
    }

    /// 400 with a JSON `error`.
    public static func badRequest(_ message: String) -> Fault {
      .answer(
        status: 400, headers: [],
        body: JSONValue.object([("error", .string(message))]).rendered(compact: true))
    }
  }

  /// `http://127.0.0.1:PORT`, the destination's `url:`.
  public let url: String
  public let port: Int
  private let channel: any Channel
  private let state: ProtocolServerState

  private init(channel: any Channel, port: Int, state: ProtocolServerState) {
    self.channel = channel
    self.port = port
    self.url = "http://127.0.0.1:\(port)"
    self.state = state
  }

  /// Listens on 127.0.0.1 on a port the system picks. With `deduplicating`, a request whose
  /// `Idempotency-Key` was already answered gets the stored answer again and changes nothing.
  /// Without `readEndpoints`, `/{object}/read` and `/{object}/keys` answer 404; `keysPageLimit`
  /// caps a page of keys whatever the request's `limit`, so tests can page with few records.
  /// Without `keepingRequests`, `requests` stays empty (the benchmark's runner, which sends more
  /// than memory should hold).
  /// With `acceptingEveryPost`, it is a plain receiver instead (a Slack incoming webhook, an
  /// alert webhook): every POST is kept and answered 200 `ok`, faults still first.
  public static func start(
    deduplicating: Bool = false, readEndpoints: Bool = true, keysPageLimit: Int = 1000, keepingRequests: Bool = true,
    acceptingEveryPost: Bool = false
  ) async throws -> ProtocolServer {
    let state = ProtocolServerState(
      deduplicating: deduplicating, readEndpoints: readEndpoints, keysPageLimit: keysPageLimit,
      keepsRequests: keepingRequests)
    state.acceptsEveryPost = acceptingEveryPost
    let (channel, port) = try await listenOnLoopback { channel in
      state.opened(channel)
      try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
      try channel.pipeline.syncOperations.addHandler(ProtocolServerHandler(state: state))
    }
    return ProtocolServer(channel: channel, port: port, state: state)
  }

  /// A stand-in for a vendor's REST API on 127.0.0.1: `api` answers every request (after any
  /// injected fault), and every request is kept unless `keepingRequests` is false.
  public static func start(keepingRequests: Bool = true, api: @escaping @Sendable (Request) -> Answer) async throws
    -> ProtocolServer
  {
    let server = try await start(keepingRequests: keepingRequests)
    server.state.api = api
    return server
  }

  /// Stops listening and closes every open connection.
  public func stop() async throws {
    try? await channel.close()
    for connection in state.closeAll() { try? await connection.close() }
  }

  // MARK: Faults

  /// Answers the next `count` requests with `fault`, after any faults already queued.
  public func inject(_ fault: Fault, count: Int = 1) {
    state.inject(fault, count: count)
  }

  /// Fails records with this key, in every request until the server stops, with `reason` in
  /// `results`; they are not stored. The number 42 and the string "42" are one key.
  public func reject(_ key: JSONValue, reason: String) {
    state.reject(ProtocolServerStore.keyText(key), reason: reason)
  }

  public func reject(_ key: String, reason: String) {
    reject(.string(key), reason: reason)
  }

  // MARK: Behind Backflow's back

  /// Sets fields of the stored record whose key has this text; throws when there is none.
  public func alter(_ key: String, in object: String, fields: [(String, JSONValue)]) throws {
    guard state.change({ $0.alter(key, in: object, fields: fields) }) else {
      throw ProtocolServerError("no record \(key) in \(object)")
    }
  }

  /// Deletes the stored record whose key has this text; throws when there is none.
  public func delete(_ key: String, in object: String) throws {
    guard state.change({ $0.delete(key, in: object) }) else { throw ProtocolServerError("no record \(key) in \(object)") }
  }

  /// Stores a record Backflow never sent.
  public func add(_ record: Record, to object: String) {
    state.change { $0.add(record, to: object) }
  }

  // MARK: What happened

  /// Every request received, in arrival order, faulted ones included.
  public var requests: [Request] { state.requests }

  /// How many requests were answered from the idempotency store.
  public var replays: Int { state.replays }

  /// The stored records of an object, in the order they were created.
  public func records(in object: String) -> [Record] {
    state.records(in: object)
  }

  /// The stored record with this key, compared as text.
  public func record(_ key: String, in object: String) -> Record? {
    records(in: object).first { ProtocolServerStore.keyText($0.key) == key }
  }
}

/// Why the protocol server could not start.
public struct ProtocolServerError: Error, CustomStringConvertible {
  public var description: String

  public init(_ description: String) {
    self.description = description
  }
}

/// Runs `body` with a started protocol server that is stopped afterwards, whatever `body` does.
public func withProtocolServer<T>(
  deduplicating: Bool = false,
  readEndpoints: Bool = true,
  keysPageLimit: Int = 1000,
  acceptingEveryPost: Bool = false,
  isolation: isolated (any Actor)? = #isolation,
  _ body: (ProtocolServer) async throws -> T
) async throws -> T {
  let server = try await ProtocolServer.start(
    deduplicating: deduplicating, readEndpoints: readEndpoints, keysPageLimit: keysPageLimit,
    acceptingEveryPost: acceptingEveryPost)
  return try await running(server, body)
}

/// Runs `body` with a started stand-in API (`ProtocolServer.start(api:)`), stopped afterwards
/// whatever `body` does.
public func withAPIServer<T>(
  isolation: isolated (any Actor)? = #isolation,
  _ api: @escaping @Sendable (ProtocolServer.Request) -> ProtocolServer.Answer,
  _ body: (ProtocolServer) async throws -> T
) async throws -> T {
  try await running(try await ProtocolServer.start(api: api), body)
}

/// Runs `body` with `server`, stopped afterwards whatever `body` does.
private func running<T>(
  _ server: ProtocolServer, isolation: isolated (any Actor)? = #isolation, _ body: (ProtocolServer) async throws -> T
) async throws -> T {
  do {
    let result = try await body(server)
    try await server.stop()
    return result
  } catch {
    try? await server.stop()
    throw error
  }
}
