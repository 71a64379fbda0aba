import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names for the files and folders a command keeps in the system's temporary directory while it
/// runs: apply's plan file, a run's changelog, `--base`'s checkout. A killed process cannot remove
/// its own, and a plan file holds every planned row, so each name carries the host and the process
/// id, and `removeLeftovers` lets a later command on the same host remove those of processes that
/// have ended, never one a live process holds.
public enum TemporaryFiles {
  /// A path no one else uses, for `kind` (letters only: `plan`, `changelog`, …), ending in
  /// `suffix`; nothing is created.
  public static func url(_ kind: String, suffix: String = "") -> URL {
    url(kind, suffix: suffix, host: host, pid: getpid())
  }

  /// The same for another host or process: what `removeLeftovers` reads back.
  static func url(_ kind: String, suffix: String, host: String, pid: pid_t) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent(
      "backflow-\(kind)-\(UUID().uuidString).\(host).\(pid)\(suffix)")
  }

  /// Removes every file or folder named by `url` on this host whose process has ended.
  public static func removeLeftovers() {
    let directory = FileManager.default.temporaryDirectory
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
    for name in names {
      guard let pid = ownerOnThisHost(name), !isRunning(pid) else { continue }
      try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
    }
  }

  /// The process id in `name` when `url` made it on this host: `backflow-KIND-UUID.HOST.PID…`, or
  /// the same behind a dot (a plan file's partial siblings, `PlanFileWriter`).
  static func ownerOnThisHost(_ name: String) -> pid_t? {
    let parts = name.drop { $0 == "." }.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, parts[1] == host else { return nil }
    // backflow-KIND-UUID, and nothing else that happens to have dots in the same places.
    let words = parts[0].split(separator: "-", maxSplits: 2)
    guard words.count == 3, words[0] == "backflow", words[1].allSatisfy({ $0.isASCII && $0.isLetter }),
      UUID(uuidString: String(words[2])) != nil
    else { return nil }
    let digits = parts[2].prefix { $0.isASCII && $0.isNumber }
    return digits.isEmpty ? nil : pid_t(digits)
  }

  /// The host's name with anything but letters, digits and `_` as `_`, so it holds no `.`.
  static let host: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "host" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
  }()

  /// Whether a process with this id exists here; one another user owns still counts.
  private static func isRunning(_ pid: pid_t) -> Bool {
    pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
  }
}
