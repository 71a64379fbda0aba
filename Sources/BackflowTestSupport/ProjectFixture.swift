import BackflowConfig
import BackflowConnectors
import Foundation

/// Small projects written to a temporary directory and loaded as `backflow validate` would.
public enum ProjectFixture {
  /// A valid `backflow.yaml` that fixtures build on: one source, one destination of each kind.
  public static let projectFile = """
    version: 1
    sources:
      warehouse: { type: sqlite, path: warehouse.db }
    destinations:
      local: { type: sqlite, path: crm.db }
      api: { type: http, url: "http://127.0.0.1:8080" }
      exports: { type: file, dir: out }

    """

  /// A valid model file, `syncs/models/users.yaml`.
  public static let modelFile = """
    source: warehouse
    primary_key: user_id
    query: select user_id, email, first_name from users

    """

  /// `files` (relative path → text) over the default project and model files, then loaded.
  public static func load(_ files: [String: String], environment: [String: String] = [:]) -> LoadedProject {
    withTemporaryDirectory { directory in
      write(files, into: directory)
      return ProjectLoader(directory: directory, displayPath: ".", environment: environment).load()
    }
  }

  /// Writes `defaults` (the default project and model files), then `files` over them ("" leaves a
  /// file out).
  public static func write(
    _ files: [String: String], into directory: URL,
    over defaults: [String: String] = ["backflow.yaml": projectFile, "syncs/models/users.yaml": modelFile]
  ) {
    let all = defaults.merging(files) { $1 }
    for (path, text) in all where !text.isEmpty {
      let url = directory.appendingPathComponent(path)
      // A fixture that cannot be written would make every assertion after it meaningless.
      do {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      } catch {
        preconditionFailure("cannot write fixture \(path): \(error)")
      }
      // Not `Data.write`, which fsyncs: on a busy disk that holds a thread of the shared pool
      // (synchronous tests run there) long enough to make other tests' time-outs late.
      let bytes = Array(text.utf8)
      let written = fopen(url.path, "w").map { file in
        let count = fwrite(bytes, 1, bytes.count, file)
        return fclose(file) == 0 && count == bytes.count
      }
      guard written == true else { preconditionFailure("cannot write fixture \(path): errno \(errno)") }
    }
  }

  /// The repository's own checkout, for tests over the example project and schemas.
  public static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
}
