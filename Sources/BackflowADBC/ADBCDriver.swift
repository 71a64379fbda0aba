import CADBC
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A driver's shared library, loaded with `dlopen` and initialised once per process: drivers
/// written in Go cannot be unloaded, so a loaded driver stays for the life of the process.
public final class ADBCDriver: @unchecked Sendable {
  /// The shared library's path.
  public let path: String
  /// The driver's function table, filled by its entry point.
  let functions: UnsafeMutablePointer<AdbcDriver>

  private static let lock = NSLock()
  nonisolated(unsafe) private static var loaded: [String: ADBCDriver] = [:]

  /// The driver at `path`, loading it on first use; `entryPoint` overrides the entry point's name.
  public static func load(path: String, entryPoint: String? = nil) throws -> ADBCDriver {
    lock.lock()
    defer { lock.unlock() }
    if let driver = loaded[path] { return driver }
    let driver = try ADBCDriver(path: path, entryPoint: entryPoint)
    loaded[path] = driver
    return driver
  }

  private init(path: String, entryPoint: String?) throws {
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
      let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
      throw ADBCError("could not load the ADBC driver \(path): \(reason)")
    }
    let names = entryPoint.map { [$0] } ?? ["AdbcDriverInit", Self.namedEntryPoint(path)]
    guard let symbol = names.lazy.compactMap({ dlsym(handle, $0) }).first else {
      throw ADBCError(
        "\(path) is not an ADBC driver: it exports none of \(names.joined(separator: ", "))")
    }
    self.path = path
    functions = .allocate(capacity: 1)
    // A 1.0 driver refuses 1.1 with NOT_IMPLEMENTED; then the 1.1 slots stay empty.
    for version in [BACKFLOW_ADBC_VERSION_1_1_0, BACKFLOW_ADBC_VERSION_1_0_0] {
      functions.initialize(to: AdbcDriver())
      do {
        try adbcCall("the ADBC driver \(path) did not initialise") {
          backflow_adbc_driver_init(symbol, Int32(version), functions, $0)
        }
        return
      } catch let error as ADBCError {
        if version == BACKFLOW_ADBC_VERSION_1_0_0 || !error.isNotImplemented {
          functions.deallocate()
          throw error
        }
      }
    }
  }

  /// `AdbcDriverPostgresqlInit` for `libadbc_driver_postgresql.so`: the name the driver
  /// manager tries after `AdbcDriverInit`.
  static func namedEntryPoint(_ path: String) -> String {
    var stem = Substring((path as NSString).lastPathComponent)
    if let dot = stem.firstIndex(of: ".") { stem = stem[..<dot] }
    if stem.hasPrefix("lib") { stem = stem.dropFirst(3) }
    if stem.hasPrefix("adbc_driver_") { stem = stem.dropFirst("adbc_driver_".count) }
    let words = stem.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
    return "AdbcDriver\(words.joined())Init"
  }
}
