import Foundation

/// Runs the built `backflow` executable as a user would, capturing what it prints.
public struct BackflowProcess {
  public struct Output: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  /// The executable SwiftPM built next to the test bundle.
  public static var executable: URL {
    var directory = Bundle.main.bundleURL
    if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
    return directory.appendingPathComponent("backflow")
  }

  /// Starts `backflow arguments…` in `directory` with exactly `environment` (plus PATH and the
  /// test server's PG* variables), no terminal: for tests that stop it. Its output goes to `log`
  /// (standard output and error alike, so the test can read it as it grows), or is discarded.
  public static func start(
    _ arguments: [String], in directory: URL, environment: [String: String] = [:], log: URL? = nil
  ) throws -> Process {
    let process = prepare(arguments, in: directory, environment: environment)
    var output = FileHandle.nullDevice
    if let log {
      _ = FileManager.default.createFile(atPath: log.path, contents: nil)
      output = try FileHandle(forWritingTo: log)
    }
    process.standardOutput = output
    process.standardError = output
    try process.run()
    return process
  }

  private static func prepare(_ arguments: [String], in directory: URL, environment: [String: String]) -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let inherited = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key.hasPrefix("PG") }
    process.environment = environment.merging(inherited) { first, _ in first }
    process.standardInput = FileHandle.nullDevice
    return process
  }

  /// Starts `backflow arguments…` as `start` does and kills it with SIGKILL once `started` holds
  /// (polled every 5 ms, for up to 60 s); whether it was still running to be killed.
  public static func kill(
    _ arguments: [String], in directory: URL, environment: [String: String] = [:], log: URL? = nil,
    once started: () throws -> Bool
  ) throws -> Bool {
    let process = try start(arguments, in: directory, environment: environment, log: log)
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning, Date() < deadline, try !started() { usleep(5_000) }
    let killed = process.isRunning
    if killed { Foundation.kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    return killed
  }

  /// `run`, on a thread of its own: an async test must not hold one of the few threads every
  /// test's tasks share while a process runs for seconds, or other tests' tasks stall.
  public static func output(
    of arguments: [String], in directory: URL, environment: [String: String] = [:]
  ) async throws -> Output {
    try await withCheckedThrowingContinuation { continuation in
      Thread.detachNewThread {
        continuation.resume(with: Result { try run(arguments, in: directory, environment: environment) })
      }
    }
  }

  /// Waits for `process` to exit on a thread of its own, as `output(of:)` runs one.
  public static func exit(of process: Process) async {
    await withCheckedContinuation { continuation in
      Thread.detachNewThread {
        process.waitUntilExit()
        continuation.resume()
      }
    }
  }

  /// Runs `backflow arguments…` in `directory` with exactly `environment` (plus PATH and the
  /// test server's PG* variables), no terminal.
  public static func run(
    _ arguments: [String], in directory: URL, environment: [String: String] = [:]
  ) throws -> Output {
    let process = prepare(arguments, in: directory, environment: environment)
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Read before waiting so a full pipe cannot block the child.
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
      stderr: String(decoding: err, as: UTF8.self))
  }
}
