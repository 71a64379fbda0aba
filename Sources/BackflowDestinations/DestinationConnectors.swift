import BackflowConfig
import Foundation

/// Opens the connector for a destination declared in `backflow.yaml`.
public enum DestinationConnectors {
  /// `directory` is the project directory, against which SQLite paths and file `dir`s resolve.
  public static func open(
    _ destination: Destination, for target: DestinationTarget, in directory: URL
  ) throws -> any DestinationConnector {
    func required(_ value: Located<String>?, _ key: String) throws -> String {
      guard let value else { throw DestinationError("destination \(destination.name.value) has no \(key)") }
      return value.value
    }
    switch destination.type.value {
    case .postgres:
      return PostgresDestination(conninfo: try required(destination.url, "url"), target: target)
    case .sqlite:
      return SQLiteDestination(
        path: directory.resolvingProjectPath(try required(destination.path, "path")).path, target: target)
    case .http:
      return try HTTPDestination(
        baseURL: try required(destination.url, "url"),
        headers: destination.headers.map { ($0.name.value, $0.value.value) },
        retries: destination.retries?.value ?? Destination.defaultRetries,
        timeout: destination.requestTimeout, target: target, name: destination.name.value,
        readable: destination.isReadable)
    case .file:
      return FileDestination(
        directory: directory.resolvingProjectPath(try required(destination.dir, "dir")),
        format: destination.format?.value ?? .jsonl, target: target)
    }
  }
}

extension Destination {
  /// An http destination's `timeout`, or the default.
  var requestTimeout: Duration {
    .seconds(timeout?.value.seconds ?? Interval(Destination.defaultTimeout)?.seconds ?? 30)
  }
}
