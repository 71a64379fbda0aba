import Foundation

extension URL {
  /// A path from config: absolute as written, or relative to this directory.
  ///
  /// `URL(fileURLWithPath:relativeTo:)` would resolve against the parent of a directory URL
  /// that lacks a trailing slash.
  public func resolvingProjectPath(_ path: String) -> URL {
    (path.hasPrefix("/") ? URL(fileURLWithPath: path) : appendingPathComponent(path)).standardizedFileURL
  }
}
