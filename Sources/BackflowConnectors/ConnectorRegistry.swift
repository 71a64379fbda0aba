import BackflowConfig
import BackflowDestinations
import BackflowSources
import BackflowSyncLogs
import Foundation

/// Every kind of source and destination Backflow connects to. Loading, validation, plan, apply,
/// drift, `test`, `resync` and the sync logs ask it; adding a connector is one folder beside this
/// file and one line below (docs/development.md).
public struct ConnectorRegistry: Sendable {
  public static let standard = ConnectorRegistry(
    sources: [PostgresSourceDriver(), SQLiteSourceDriver(), MySQLSourceDriver(), ADBCSourceDriver()],
    destinations: [
      PostgresDestinationDriver(), SQLiteDestinationDriver(), MySQLDestinationDriver(), HTTPDestinationDriver(),
      RESTDestinationDriver(), FileDestinationDriver(),
    ])

  public let sources: [any SourceConnectorDriver]
  public let destinations: [any DestinationConnectorDriver]

  public init(sources: [any SourceConnectorDriver], destinations: [any DestinationConnectorDriver]) {
    self.sources = sources
    self.destinations = destinations
  }

  /// What config loading needs of the drivers.
  public var catalog: DriverCatalog { DriverCatalog(sources: sources, destinations: destinations) }

  public func driver(for source: Source) throws -> any SourceConnectorDriver {
    guard let driver = sources.first(where: { $0.kind == source.type.value }) else {
      throw SourceError("source \(source.name.value) is of type \(source.type.value), which this Backflow does not connect to")
    }
    return driver
  }

  public func driver(for destination: Destination) throws -> any DestinationConnectorDriver {
    guard let driver = destinations.first(where: { $0.kind == destination.type.value }) else {
      throw DestinationError(
        "destination \(destination.name.value) is of type \(destination.type.value), which this Backflow does not connect to")
    }
    return driver
  }

  /// Connects to the source `model` reads from.
  public func modelReader(for source: Source, in directory: URL) throws -> any ModelReader {
    try driver(for: source).modelReader(for: source, in: directory)
  }

  /// Connects for writing the snapshot copies of warehouse planning, when `source` has `planning:`.
  public func planningSnapshots(for source: Source, in directory: URL) throws -> PlanningCopy? {
    try driver(for: source).planningSnapshots(for: source, in: directory)
  }

  /// Opens the connector apply sends one sync's batches to.
  public func connector(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationConnector
  {
    try driver(for: destination).connector(for: destination, target: target, in: directory)
  }

  /// Opens a reader of the records a sync wrote, or throws why this destination cannot be read.
  public func reader(for destination: Destination, target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    if let refusal = destination.driver.readRefusal(destination.settings) { throw DestinationError(refusal) }
    return try driver(for: destination).reader(for: destination, target: target, in: directory)
  }

  /// The writer of the sync logs `logs` asks for, connecting on its first write.
  public func syncLogWriter(logs: SyncLogs, project: Project, directory: URL) throws -> SyncLogWriter {
    guard let source = project.sources.first(where: { $0.name.value == logs.source.value }) else {
      throw SyncLogError("sync_logs.source \"\(logs.source.value)\" is not one of the sources in backflow.yaml")
    }
    let driver = try driver(for: source)
    let schema = logs.schema.value
    return SyncLogWriter(
      location: driver.syncLogLocation(of: source, schema: schema), secrets: source.settings.secrets,
      open: { try driver.syncLogStore(for: source, schema: schema, in: directory) })
  }
}

extension ConnectorSettings {
  /// These settings as the driver's own type; a driver is only handed settings it decoded.
  func typed<Settings: ConnectorSettings>(_ type: Settings.Type = Settings.self) throws -> Settings {
    guard let settings = self as? Settings else {
      throw ConnectorError("settings of type \(Swift.type(of: self)) given to a driver that reads \(Settings.self)")
    }
    return settings
  }
}
