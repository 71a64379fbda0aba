import Foundation

/// Runs a helper program (git, python3) and reads what it prints.
public enum ProgramOutput {
  /// What `executable arguments…` prints on standard output, trimmed; `nil` when it cannot start,
  /// exits with an error or prints nothing. `environment` replaces the inherited one when given.
  public static func text(of executable: URL, _ arguments: [String], environment: [String: String]? = nil) -> String? {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return nil
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return process.terminationStatus == 0 && !text.isEmpty ? text : nil
  }
}
