import BackflowConfig
import Foundation

/// The read half of the HTTP protocol (docs/destinations.md, "Reading back"), which a
/// destination declared `readable: true` implements: records by key, and every key page by page.
struct HTTPReadEndpoints: Sendable {
  /// Keys asked for per page of `POST {url}/{object}/keys`; a server may answer with fewer.
  static let pageLimit = 1000

  let transport: HTTPTransport
  let target: DestinationTarget

  /// The fields of the records the server holds under `keys`, by key text (`HTTPKeySet.text`);
  /// keys it does not list are missing.
  func read(_ keys: [JSONValue]) async throws -> [String: [(String, JSONValue)]] {
    let body = JSONValue.object(
      common + [("fields", .array(target.fields.map(JSONValue.string))), ("keys", .array(keys))])
    let answer = try await post(body, endpoint: "read")
    guard case let .array(items)? = answer["records"] else {
      throw failure(endpoint: "read", "the answer has no \"records\" array")
    }
    var found: [String: [(String, JSONValue)]] = [:]
    for item in items {
      guard let key = item["key"], key != .null else { continue }
      let fields: [(String, JSONValue)] = if case let .object(members)? = item["fields"] { members } else { [] }
      let text = HTTPKeySet.text(key)
      if found[text] == nil { found[text] = fields }
    }
    return found
  }

  /// One page of the object's keys: the first page for a `null` cursor, then the page after the
  /// server's `next`, until `next` is `null`.
  func keys(cursor: JSONValue) async throws -> (keys: [JSONValue], next: JSONValue) {
    let body = JSONValue.object(common + [("cursor", cursor), ("limit", .int(Self.pageLimit))])
    let answer = try await post(body, endpoint: "keys")
    guard case let .array(keys)? = answer["keys"] else {
      throw failure(endpoint: "keys", "the answer has no \"keys\" array")
    }
    let next = answer["next"] ?? .null
    if next != .null, next == cursor {
      throw failure(endpoint: "keys", "the answer's \"next\" is the cursor it was asked for, so the listing would never end")
    }
    return (keys, next)
  }

  /// Every key the server lists, a page at a time.
  func eachPage(_ body: ([JSONValue]) async throws -> Void) async throws {
    var cursor = JSONValue.null
    repeat {
      let page = try await keys(cursor: cursor)
      try await body(page.keys)
      cursor = page.next
    } while cursor != .null
  }

  // MARK: Requests

  private var common: [(String, JSONValue)] {
    [
      ("sync", .string(target.syncName)),
      ("sync_id", .int(target.syncID)),
      ("match_field", target.matchField.map(JSONValue.string) ?? .null),
    ]
  }

  /// POSTs to `{url}/{object}/{endpoint}` and returns the 2xx answer as JSON. Reads change
  /// nothing, so they carry no `Idempotency-Key`.
  private func post(_ body: JSONValue, endpoint: String) async throws -> JSONValue {
    let delivery = try await transport.post(
      body.rendered(compact: true), path: "\(target.object)/\(endpoint)", requestLine: requestLine(endpoint))
    switch delivery {
    case let .accepted(text):
      guard let answer = try? JSONValue.parse(text), case .object = answer else {
        throw failure(endpoint: endpoint, "the answer is not a JSON object")
      }
      return answer
    case let .failed(reason, status, _):
      var message = reason.hasPrefix(requestLine(endpoint)) ? reason : "\(requestLine(endpoint)): \(reason)"
      if let status, [404, 405, 501].contains(status) {
        message +=
          "; the destination is declared readable: true, but its server does not seem to implement the read "
          + "endpoints (docs/destinations.md, \"Reading back\")"
      }
      throw DestinationError("destination \(transport.name): \(message)")
    }
  }

  /// `POST /contacts/read`: what messages show instead of the URL.
  private func requestLine(_ endpoint: String) -> String { "POST /\(target.object)/\(endpoint)" }

  private func failure(endpoint: String, _ problem: String) -> DestinationError {
    DestinationError("destination \(transport.name): \(requestLine(endpoint)): \(problem)")
  }
}
