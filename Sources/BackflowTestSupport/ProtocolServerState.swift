import BackflowConfig
import Foundation
import NIOCore

/// The protocol server's mutable state behind one lock: NIO's event loops and the tests' tasks
/// both reach it, and every access is short.
final class ProtocolServerState: @unchecked Sendable {
  /// What to do with one request.
  enum Reply {
    case answer(status: Int, headers: [(String, String)], body: String, delay: Duration?)
    case drop
  }

  private let lock = NSLock()
  private let deduplicating: Bool
  private let readEndpoints: Bool
  private let keysPageLimit: Int
  private let keepsRequests: Bool
  /// A plain receiver (a Slack or alert webhook): every POST is kept and answered 200 `ok`.
  var acceptsEveryPost = false
  /// A stand-in for a vendor's API (rest destination tests): answers every request instead of
  /// the protocol. Called with the lock held, so it must not call back into the server.
  var api: (@Sendable (ProtocolServer.Request) -> ProtocolServer.Answer)?
  private var store = ProtocolServerStore()
  private var faults: [ProtocolServer.Fault] = []
  private var rejected: [String: String] = [:]
  private var received: [ProtocolServer.Request] = []
  private var answered: [String: (status: Int, body: String)] = [:]
  private var replayCount = 0
  private var connections: [ObjectIdentifier: any Channel] = [:]

  init(deduplicating: Bool, readEndpoints: Bool, keysPageLimit: Int, keepsRequests: Bool) {
    self.deduplicating = deduplicating
    self.readEndpoints = readEndpoints
    self.keysPageLimit = max(1, keysPageLimit)
    self.keepsRequests = keepsRequests
  }

  /// Changes stored records without a request, as another client of the API would.
  func change<T>(_ body: (inout ProtocolServerStore) -> T) -> T {
    locked { body(&store) }
  }

  private func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  func inject(_ fault: ProtocolServer.Fault, count: Int) {
    locked { faults += Array(repeating: fault, count: max(0, count)) }
  }

  func reject(_ key: String, reason: String) {
    locked { rejected[key] = reason }
  }

  var requests: [ProtocolServer.Request] { locked { received } }
  var replays: Int { locked { replayCount } }
  func records(in object: String) -> [ProtocolServer.Record] { locked { store.objects[object] ?? [] } }

  func opened(_ channel: any Channel) {
    let id = ObjectIdentifier(channel)
    locked { connections[id] = channel }
    channel.closeFuture.whenComplete { [weak self] _ in
      guard let self else { return }
      self.locked { _ = self.connections.removeValue(forKey: id) }
    }
  }

  func closeAll() -> [any Channel] {
    locked {
      defer { connections = [:] }
      return Array(connections.values)
    }
  }

  /// Records the request, then answers it: a queued fault first, then a replay of an answered
  /// `Idempotency-Key`, then the protocol itself.
  func handle(_ request: ProtocolServer.Request) -> Reply {
    locked {
      if keepsRequests { received.append(request) }
      var delay: Duration?
      if !faults.isEmpty {
        switch faults.removeFirst() {
        case let .answer(status, headers, body):
          return .answer(status: status, headers: headers, body: body, delay: nil)
        case .drop:
          return .drop
        case let .delay(duration):
          delay = duration
        }
      }
      let key = request.header("Idempotency-Key")
      if deduplicating, let key, let previous = answered[key] {
        replayCount += 1
        return .answer(
          status: previous.status, headers: [("Idempotent-Replayed", "true")], body: previous.body,
          delay: delay)
      }
      if let api {
        let answer = api(request)
        return .answer(status: answer.status, headers: answer.headers, body: answer.body, delay: delay)
      }
      let (status, body) = answer(request)
      if deduplicating, let key, (200..<300).contains(status) { answered[key] = (status, body) }
      return .answer(status: status, headers: [], body: body, delay: delay)
    }
  }

  /// The protocol's answer; called with the lock held.
  private func answer(_ request: ProtocolServer.Request) -> (Int, String) {
    guard request.method == "POST" else {
      return (405, #"{"error": "only POST is supported"}"#)
    }
    if acceptsEveryPost { return (200, "ok") }
    guard !request.object.isEmpty else { return (404, #"{"error": "no object in the path"}"#) }
    guard request.header("Content-Type")?.lowercased().hasPrefix("application/json") == true else {
      return (415, #"{"error": "Content-Type must be application/json"}"#)
    }
    let object = request.object
    for endpoint in ["read", "keys"] where object.hasSuffix("/\(endpoint)") {
      guard readEndpoints else { return (404, #"{"error": "not found"}"#) }
      let target = String(object.dropLast(endpoint.count + 1))
      let (status, body) =
        endpoint == "read"
        ? store.read(request.body, in: target) : store.keys(request.body, in: target, pageLimit: keysPageLimit)
      return (status, body.rendered(compact: true))
    }
    let (status, body) = store.apply(request.body, to: object, rejected: rejected)
    return (status, body.rendered(compact: true))
  }
}
