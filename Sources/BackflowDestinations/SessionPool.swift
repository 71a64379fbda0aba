/// The connections of a table destination: at most `limit`, opened when first needed, each on a
/// queue of its own and lent to one batch at a time.
actor SessionPool<Session: TableSession> {
  typealias Connection = BlockingQueue<Session>

  private let open: @Sendable () throws -> Session
  private let limit: Int
  private let label: String
  private var idle: [Connection] = []
  private var count = 0
  /// Batches waiting for a connection, served in order.
  private var waiters: [CheckedContinuation<Connection, Never>] = []

  init(label: String, limit: Int, open: @escaping @Sendable () throws -> Session) {
    self.label = label
    self.limit = max(1, limit)
    self.open = open
  }

  /// Runs `body` with a connection of the pool, on that connection's own thread, connecting
  /// first if it is not connected yet or was lost.
  func withSession<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
    let connection = await acquire()
    let open = self.open
    do {
      let result = try await connection.run { session in
        let current = try session ?? open()
        session = current
        // A lost connection is dropped, so the next batch connects again.
        defer { if current.isLost { session = nil } }
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
      return Connection(label: "\(label).\(count)")
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
