import BackflowConfig

extension HTTPDestinationReader {
  /// Reads a rest sync's records back for `backflow drift` through its `read:` request (and its
  /// `list:` request for mirror's extras), with the destination's auth, limits and retries. Keys
  /// compare as `read:`'s `result.keys` says.
  public static func rest(connection: RESTConnection, target: DestinationTarget) throws -> HTTPDestinationReader {
    let client = RESTClient(connection: connection, target: target)
    _ = try client.transport.endpoint.get()
    let templates = target.requests
    let readBack = RESTReadBack(
      client: client, read: try templates?.request(for: "read").map(RESTRequest.init),
      list: try templates?.request(for: "list").map(RESTRequest.init))
    return HTTPDestinationReader(
      target: target, read: { keys in try await readBack.read(keys).mapValues(\.fields) },
      pages: { page in try await readBack.eachPage(page) }, keyText: { readBack.comparable($0) },
      fold: { readBack.folded($0) }, shutdown: { try? await client.transport.shutdown() })
  }
}
