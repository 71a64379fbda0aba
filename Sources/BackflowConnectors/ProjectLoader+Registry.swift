import BackflowConfig
import Foundation

extension ProjectLoader {
  /// A loader that knows every connector in the standard registry, as `backflow validate` reads.
  public init(
    directory: URL, displayPath: String = ".", environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.init(
      directory: directory, displayPath: displayPath, environment: environment,
      drivers: ConnectorRegistry.standard.catalog)
  }
}
