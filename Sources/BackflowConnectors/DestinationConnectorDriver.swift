import BackflowConfig
import BackflowDestinations
import Foundation

/// One kind of destination: its config (`DestinationDriver`) and how it opens the connector
/// apply sends to and the reader drift compares with.
public protocol DestinationConnectorDriver: DestinationDriver {
  /// The connector for one run of one sync; nothing is checked until `prepare`.
  func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  /// Connects and finds the target's object, with the checks apply makes before sending. Only
  /// called when `readRefusal` is `nil`.
  func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
}
