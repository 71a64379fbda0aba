import Foundation

/// Runs `body` with a new empty directory that is removed afterwards, whatever `body` does.
///
/// Failing to create the directory stops the test process: `rethrows` lets callers with a
/// non-throwing body skip `try`, and a machine without a writable temporary directory cannot run
/// the tests anyway.
public func withTemporaryDirectory<T>(_ body: (URL) throws -> T) rethrows -> T {
  let directory = makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  return try body(directory)
}

/// Runs the async `body` with a new empty directory that is removed afterwards.
///
/// `body` runs in the caller's isolation, so it may touch the caller's actor-isolated state.
public func withTemporaryDirectory<T>(
  isolation: isolated (any Actor)? = #isolation,
  _ body: (URL) async throws -> T
) async rethrows -> T {
  let directory = makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  return try await body(directory)
}

private func makeTemporaryDirectory() -> URL {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("backflow-test-\(UUID().uuidString)", isDirectory: true)
  do {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
  } catch {
    fatalError("cannot create a temporary directory at \(directory.path): \(error)")
  }
  // On macOS /var is a symlink to /private/var; resolving it keeps path comparisons in tests exact.
  return directory.resolvingSymlinksInPath()
}
