import BackflowConfig
import Foundation

/// A rest sync's reading requests (docs/rest.md, "Reading back"): `read:` finds records by key
/// (drift, id look-ups), `list:` pages through every record (mirror's sweep, drift's extras).
/// Reads change nothing, so they carry no `Idempotency-Key`.
struct RESTReadBack: Sendable {
  /// One record as the API holds it.
  struct Found: Sendable {
    var key: JSONValue
    /// The object holding the mapped fields (`result.fields`, or the record itself).
    var fields: JSONValue
    /// The API's own id (`result.id`).
    var id: JSONValue?
  }

  let client: RESTClient
  let read: RESTRequest?
  let list: RESTRequest?

  var canRead: Bool { read != nil }
  var canList: Bool { list != nil }

  /// A key as `read:` compares keys: as text, without regard to case when its `result.keys`
  /// says so.
  func comparable(_ key: JSONValue) -> String {
    RESTAnswer.comparable(key, read?.template.records?.caseInsensitiveKeys ?? false) ?? ""
  }

  /// A key as the listing and the model's keys are matched by mirror: lower-cased strings when
  /// `list:` compares keys without regard to case, so no record is taken for a stranger for its
  /// case alone.
  func folded(_ key: JSONValue) -> JSONValue {
    guard list?.template.records?.caseInsensitiveKeys == true, case let .string(text) = key else { return key }
    return .string(text.lowercased())
  }

  /// The records the API holds under `keys`, by `comparable` key; keys it does not return are
  /// missing. Sent as requests of at most `read.batch` keys.
  func read(_ keys: [JSONValue]) async throws -> [String: Found] {
    guard let read, let paths = read.template.records, !keys.isEmpty else { return [:] }
    var found: [String: Found] = [:]
    let size = read.batchSize ?? keys.count
    for start in stride(from: 0, to: keys.count, by: size) {
      let records = keys[start..<min(start + size, keys.count)].map { key in
        JSONValue.object([("key", key), ("fields", .object([])), ("destination_id", .null)])
      }
      let answer = try await self.answer(read, try render(read, operation: "read", records: Array(records)))
      for record in Self.records(in: answer, paths) {
        let text = comparable(record.key)
        if found[text] == nil { found[text] = record }
      }
    }
    return found
  }

  /// Every record `list:` returns, a page at a time, as records with their keys (`folded`) and
  /// ids. Pages by `result.next` (a cursor given as `{{ cursor }}`), `result.next_url` (on the
  /// destination's own server only) or `offset:`, until a page gives no next one.
  func eachPage(_ body: ([DestinationRecord]) async throws -> Void) async throws {
    guard let list, let paths = list.template.records else { return }
    var cursor = JSONValue.null
    var nextURL: String?
    var offset = 0
    while true {
      var rendered = try render(list, operation: "list", records: [], cursor: cursor)
      if let paging = list.template.offset {
        rendered.query.append((paging.param.value, String(offset)))
        if let sizeParam = paging.sizeParam { rendered.query.append((sizeParam.value, String(paging.size.value))) }
      }
      let answer = try await self.answer(list, rendered, url: nextURL)
      let page = Self.records(in: answer, paths)
      try await body(page.map { DestinationRecord(key: folded($0.key), values: [], destinationID: $0.id) })
      if let paging = list.template.offset {
        // A short page is the last.
        guard page.count >= paging.size.value else { return }
        offset += page.count
      } else if let next = paths.next {
        let value = next.value.value(in: answer) ?? .null
        guard value != .null, value != .string("") else { return }
        guard value != cursor else { throw failure(list, "the answer's result.next is the cursor it was asked for, so the listing would never end") }
        cursor = value
      } else if let path = paths.nextURL {
        guard case let .string(text)? = path.value.value(in: answer), !text.isEmpty else { return }
        guard let url = client.sameServer(text) else {
          throw failure(list, "result.next_url points at another server than the destination's url; it is not followed, so no credential leaves for it")
        }
        guard url != nextURL else { throw failure(list, "the answer's result.next_url is the page it answers, so the listing would never end") }
        nextURL = url
      } else {
        return
      }
    }
  }

  // MARK: Requests

  /// The request rendered for `records`; query parameters that render empty (a first page's
  /// cursor) are left out of a listing.
  private func render(_ request: RESTRequest, operation: String, records: [JSONValue], cursor: JSONValue? = nil) throws
    -> RESTRequest.Rendered
  {
    var context = client.context(batch: 0, operation: operation)
    if let cursor { context["cursor"] = cursor }
    do {
      var rendered = try request.render(context, records: records)
      if cursor != nil { rendered.query.removeAll { $0.1.isEmpty } }
      return rendered
    } catch let failure as RESTRequest.RecordFailure {
      throw self.failure(request, failure.reason)
    } catch {
      throw self.failure(request, FailureKind.message(of: error))
    }
  }

  /// Sends and returns the 2xx answer as JSON.
  private func answer(_ request: RESTRequest, _ rendered: RESTRequest.Rendered, url: String? = nil) async throws
    -> JSONValue
  {
    switch try await client.deliver(rendered, request, key: nil, url: url) {
    case let .accepted(text):
      // A dry run sends nothing and so finds nothing.
      if text.isEmpty, client.target.trace?.dryRun == true { return .object([]) }
      guard let answer = try? JSONValue.parse(text) else {
        throw failure(request, "the answer is not JSON: " + HTTPAnswer.shortened(text, limit: 100))
      }
      return answer
    case let .failed(reason, _, _):
      let line = client.requestLine(request)
      throw DestinationError("destination \(client.connection.name): \(reason.hasPrefix(line) ? reason : "\(line): \(reason)")")
    }
  }

  private static func records(in answer: JSONValue, _ paths: RecordPaths) -> [Found] {
    RESTAnswer.items(paths.records.value, in: answer).compactMap { item in
      guard let key = paths.key.value.value(in: item), key != .null else { return nil }
      let fields = paths.fields.map { $0.value.value(in: item) ?? .object([]) } ?? item
      let id = paths.id.flatMap { $0.value.value(in: item) }
      return Found(key: key, fields: fields, id: id == .null ? nil : id)
    }
  }

  private func failure(_ request: RESTRequest, _ problem: String) -> DestinationError {
    DestinationError("destination \(client.connection.name): \(client.requestLine(request)): \(client.transport.redact(problem))")
  }
}
