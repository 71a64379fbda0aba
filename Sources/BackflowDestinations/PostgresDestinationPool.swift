/// The connections of a PostgreSQL destination: at most `limit`, opened when first needed, each
/// on a queue of its own and lent to one batch at a time.
actor PostgresDestinationPool {
  typealias Connection = BlockingQueue<PostgresDestinationSession>

  private let conninfo: String
  private let limit: Int
  private var idle: [Connection] = []
  private var count = 0
  /// Batches waiting for a connection, served in order.
  private var waiters: [CheckedContinuation<Connection, Never>] = []

  init(conninfo: String, limit: Int) {
    self.conninfo = conninfo
    self.limit = max(1, limit)
  }

  /// Runs `body` with a connection of the pool, on that connection's own thread, connecting
  /// first if it is not connected yet or was lost.
  func withSession<T: Sendable>(
    _ body: @escaping @Sendable (PostgresDestinationSession) throws -> T
  ) async throws -> T {
    let connection = await acquire()
    let conninfo = self.conninfo
    do {
      let result = try await connection.run { session in
        let current = try session ?? PostgresDestinationSession(conninfo: conninfo)
        session = current
        // A lost connection is dropped, so the next batch connects again.
        defer { if current.connection.isLost { session = nil } }
        return try body(current)
      }
      release(connection)
      return result
    } catch {
      release(connection)
      throw error
    }
  }

  /// Closes every connection; batches that run later connect again.
  func close() async {
    for connection in idle { await connection.close() }
  }

  private func acquire() async -> Connection {
    if let connection = idle.popLast() { return connection }
    if count < limit {
      count += 1
      return Connection(label: "backflow.postgres-destination.\(count)")
    }
    return await withCheckedContinuation { waiters.append($0) }
  }

  private func release(_ connection: Connection) {
    if waiters.isEmpty {
      idle.append(connection)
    } else {
      waiters.removeFirst().resume(returning: connection)
    }
  }
}
