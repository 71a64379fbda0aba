import BackflowConfig
import Foundation

/// Finds a driver's shared library from its name (`adbc_driver_snowflake`): as `lib{NAME}.so` in
/// the folders of `BACKFLOW_ADBC_PATH`, then inside the Python package `NAME` of the `python3` on
/// the PATH (where `pip install adbc-driver-snowflake` puts it), then through an ADBC driver
/// manifest `NAME.toml` in `~/.config/adbc/drivers` or `/etc/adbc/drivers`.
public struct ADBCDriverLocator: Sendable {
  /// The shared library found, and the entry point a manifest names (`nil`: the usual ones).
  public struct Found: Sendable, Equatable {
    public var path: String
    public var entryPoint: String?

    public init(path: String, entryPoint: String? = nil) {
      self.path = path
      self.entryPoint = entryPoint
    }
  }

  public var environment: [String: String]
  /// The manifest folders, searched in order.
  public var manifestFolders: [String]

  public init(environment: [String: String] = ProcessInfo.processInfo.environment, manifestFolders: [String]? = nil) {
    self.environment = environment
    let home = environment["HOME"] ?? NSHomeDirectory()
    self.manifestFolders = manifestFolders ?? ["\(home)/.config/adbc/drivers", "/etc/adbc/drivers"]
  }

  /// `name`'s library, or an error naming every place looked and the package to install.
  public func locate(_ name: String) throws -> Found {
    var looked: [String] = []
    let library = "lib\(name).so"
    let folders = (environment["BACKFLOW_ADBC_PATH"] ?? "").split(separator: ":").map(String.init)
    for folder in folders {
      let path = (folder as NSString).appendingPathComponent(library)
      if FileManager.default.fileExists(atPath: path) { return Found(path: path) }
    }
    looked.append(
      folders.isEmpty ? "BACKFLOW_ADBC_PATH (not set)" : "BACKFLOW_ADBC_PATH (\(folders.joined(separator: ":")))")
    switch pythonPackageFolder(name) {
    case let .found(folder):
      let path = (folder as NSString).appendingPathComponent(library)
      if FileManager.default.fileExists(atPath: path) { return Found(path: path) }
      looked.append("the Python package \(name) at \(folder), which has no \(library)")
    case let .missing(python):
      looked.append("the Python package \(name) of \(python), which does not have it")
    case .noPython:
      looked.append("python3 on the PATH (there is none)")
    }
    for folder in manifestFolders {
      let manifest = (folder as NSString).appendingPathComponent("\(name).toml")
      guard let text = try? String(contentsOfFile: manifest, encoding: .utf8) else { continue }
      guard let found = Self.manifestLibrary(text) else {
        throw ADBCError("the ADBC driver manifest \(manifest) names no shared library for this platform")
      }
      return found
    }
    looked.append("driver manifests \(manifestFolders.map { "\($0)/\(name).toml" }.joined(separator: ", "))")
    let package = name.replacing("_", with: "-")
    throw ADBCError(
      "the ADBC driver \(name) was not found; looked in \(looked.joined(separator: "; ")). "
        + "Install it with `pip install \(package)` for the python3 on the PATH, or set BACKFLOW_ADBC_PATH "
        + "to the folder holding \(library), or give driver: the library's path")
  }

  private enum PythonAnswer {
    case found(String)
    case missing(python: String)
    case noPython
  }

  /// Asks the `python3` on the PATH where package `name` is installed, without importing it.
  private func pythonPackageFolder(_ name: String) -> PythonAnswer {
    let folders = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
    guard
      let python = folders.map({ ($0 as NSString).appendingPathComponent("python3") })
        .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else { return .noPython }
    let script =
      "import importlib.util, sys\nspec = importlib.util.find_spec(sys.argv[1])\n"
      + "print(spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else '')"
    let folder = ProgramOutput.text(of: URL(fileURLWithPath: python), ["-c", script, name], environment: environment)
    return folder.map(PythonAnswer.found) ?? .missing(python: python)
  }

  /// The library an ADBC driver manifest names: `shared = "PATH"` under `[Driver]`, or this
  /// platform's key (`linux_amd64`) under `[Driver.shared]`; `entrypoint` under `[Driver]`.
  static func manifestLibrary(_ text: String) -> Found? {
    var section = ""
    var shared: String?
    var entryPoint: String?
    for line in text.split(whereSeparator: \.isNewline) {
      let line = line.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("[") {
        section = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        continue
      }
      let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, !parts[0].hasPrefix("#") else { continue }
      let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
      switch (section, parts[0]) {
      case ("Driver", "shared"), ("Driver.shared", platform): shared = value
      case ("Driver", "entrypoint"): entryPoint = value
      default: continue
      }
    }
    return shared.map { Found(path: $0, entryPoint: entryPoint) }
  }

  /// This platform as manifests name it.
  static var platform: String {
    #if arch(arm64)
      "linux_arm64"
    #else
      "linux_amd64"
    #endif
  }
}
