import BackflowConfig
import BackflowState
import Foundation
import NIOPosix

/// The state store, opened for reading and used by one request at a time on NIO's thread pool:
/// its connections block, and the event loops must not.
///
/// A store that failed is opened again by the next request, so the server outlives a database
/// restart, and a store that did not exist yet is looked for again.
final class StateReader: @unchecked Sendable {
  private let location: StateLocation
  private let directory: URL
  private let lock = NSLock()
  private var store: StateStore?

  init(location: StateLocation, directory: URL) {
    self.location = location
    self.directory = directory
  }

  /// Runs `body` with the store on the thread pool; a failure closes the store.
  func read<Result: Sendable>(_ body: @escaping @Sendable (StateStore) throws -> Result) async throws -> Result {
    try await NIOThreadPool.singleton.runIfActive { [self] in
      try lock.withLock {
        do {
          let store = try opened()
          return try body(store)
        } catch {
          store = nil
          throw error
        }
      }
    }
  }

  private func opened() throws -> StateStore {
    if let store, store.exists { return store }
    let opened = try StateStore.open(location, in: directory)
    store = opened
    return opened
  }
}
