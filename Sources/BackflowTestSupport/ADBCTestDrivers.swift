import Foundation

/// The real ADBC drivers the tests use: installed by scripts/test-venv.sh into .venv-test, found
/// as a user's would be, through the `python3` first on the PATH.
public enum ADBCTestDrivers {
  /// The environment a test gives Backflow: `PATH` with the test venv's `bin` first.
  public static func environment() throws -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = try venvBin.get() + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment["BACKFLOW_ADBC_PATH"] = nil
    return environment
  }

  /// The shared library of `name` (`adbc_driver_sqlite`) inside the test venv.
  public static func library(_ name: String) throws -> String {
    let folder = URL(fileURLWithPath: try venvBin.get()).deletingLastPathComponent()
      .appendingPathComponent("lib")
    let python = try FileManager.default.contentsOfDirectory(atPath: folder.path).first { $0.hasPrefix("python3") }
    return folder.appendingPathComponent("\(python ?? "python3")/site-packages/\(name)/lib\(name).so").path
  }

  /// Runs scripts/test-venv.sh once per test process (it only installs what is missing).
  private static let venvBin: Result<String, any Error> = Result {
    let script = ProjectFixture.repositoryRoot.appendingPathComponent("scripts/test-venv.sh").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [script]
    let output = Pipe()
    process.standardOutput = output
    // Its progress goes to the test log, so a slow first install shows what it is doing.
    process.standardError = FileHandle.standardError
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ScenarioError("scripts/test-venv.sh failed") }
    let python = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return URL(fileURLWithPath: python).deletingLastPathComponent().path
  }
}
