import CLibPQ

extension PostgresConnection {
  /// Whether the connection to the server is gone, so nothing more can run on it; a failed
  /// statement on a live connection leaves this `false`.
  public var isLost: Bool {
    PQstatus(handle) == CONNECTION_BAD
  }
}
