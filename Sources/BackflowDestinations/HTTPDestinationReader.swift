import BackflowConfig
import Foundation

/// Reads an http destination declared `readable: true` back for `backflow drift`, through the
/// read endpoints (docs/destinations.md, "Reading back"), with the destination's headers,
/// `retries` and `timeout`; and a rest destination, through the sync's `read:` and `list:`
/// requests (`RESTDestinationReader`).
///
/// Fields compare as JSON values, as apply sends them: equal strings, booleans and nulls, numbers
/// by value (`42`, `42.0` and `4.2e1` are one number), arrays item by item, objects member by
/// member in any order. A string never equals a number (`"42"` is not `42`), and a mapped field
/// the answer leaves out compares as `null`. Fields Backflow does not map are not compared.
public final class HTTPDestinationReader: DestinationReader {
  /// The records held under some keys: their fields objects by `keyText` of their keys.
  typealias Read = @Sendable ([JSONValue]) async throws -> [String: JSONValue]

  private let target: DestinationTarget
  private let read: Read
  private let pages: HTTPSweep.Pages
  private let keyText: @Sendable (JSONValue) -> String
  private let fold: @Sendable (JSONValue) -> JSONValue
  private let shutdown: @Sendable () async -> Void
  private var expected: HTTPKeySet?

  /// Nothing is sent until the first comparison; a URL or header that cannot be used is reported
  /// here.
  public convenience init(
    baseURL: String, headers: [(String, String)], timeout: Duration, retryPolicy: RetryPolicy,
    target: DestinationTarget, name: String
  ) throws {
    let transport = HTTPTransport(
      baseURL: baseURL, headers: headers, timeout: timeout, retryPolicy: retryPolicy, name: name, concurrency: 1,
      trace: nil)
    _ = try transport.endpoint.get()
    let endpoints = HTTPReadEndpoints(transport: transport, target: target)
    self.init(
      target: target, read: { keys in try await endpoints.read(keys).mapValues { .object($0) } },
      pages: { page in
        try await endpoints.eachPage { keys in try await page(keys.map { DestinationRecord(key: $0, values: []) }) }
      }, keyText: HTTPKeySet.text, shutdown: { try? await transport.shutdown() })
  }

  /// A reader over any way of finding records by key (`read`) and listing them (`pages`): the
  /// HTTP protocol's read endpoints, or a rest sync's `read:` and `list:` requests. `fold` spells
  /// a model key as the listing does.
  init(
    target: DestinationTarget, read: @escaping Read, pages: @escaping HTTPSweep.Pages,
    keyText: @escaping @Sendable (JSONValue) -> String, fold: @escaping @Sendable (JSONValue) -> JSONValue = { $0 },
    shutdown: @escaping @Sendable () async -> Void
  ) {
    self.target = target
    self.read = read
    self.pages = pages
    self.keyText = keyText
    self.fold = fold
    self.shutdown = shutdown
  }

  public func compare(_ records: [DestinationRecord]) async throws -> [RecordDrift] {
    guard !records.isEmpty else { return [] }
    let found = try await read(records.map(\.key))
    return records.map { record in
      guard let stored = found[keyText(record.key)] else { return .missing }
      var differences: [FieldDrift] = []
      for (field, written) in zip(target.fields, record.values) {
        let value = DestinationTarget.value(of: field, in: stored) ?? .null
        guard value != written else { continue }
        differences.append(
          FieldDrift(
            field: field, destination: DestinationReaders.truncated(Self.text(value)),
            written: DestinationReaders.truncated(Self.text(written))))
      }
      return differences.isEmpty ? .same : .differs(differences)
    }
  }

  public func expect(_ keys: [JSONValue]) async throws {
    try keySet().insert(keys.map(fold))
  }

  public func unexpected(sample: Int) async throws -> (count: Int, sample: [String]) {
    let expected = try keySet()
    var count = 0
    var shown: [String] = []
    try await pages { page in
      let strangers = try expected.absent(page.map(\.key))
      count += strangers.count
      for key in strangers.prefix(max(sample - shown.count, 0)) {
        shown.append(DestinationReaders.truncated(HTTPKeySet.text(key)) ?? "")
      }
    }
    return (count, shown)
  }

  public func close() async {
    await shutdown()
  }

  private func keySet() throws -> HTTPKeySet {
    if let expected { return expected }
    let created = try HTTPKeySet()
    expected = created
    return created
  }

  /// A value as the SQL readers show theirs: a string as it is, anything else as JSON, `nil` for
  /// null.
  static func text(_ value: JSONValue) -> String? {
    switch value {
    case .null: nil
    case let .string(text): text
    default: value.rendered(compact: true)
    }
  }
}
