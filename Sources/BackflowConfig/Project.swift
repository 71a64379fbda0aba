import Foundation

/// A whole Backflow project: `backflow.yaml` plus every model and sync under `syncs/`.
public struct Project: Sendable, Encodable {
  /// The highest `version:` this Backflow reads.
  public static let supportedVersion = 1
  public static let defaultState = "sqlite:.backflow/state.db"

  public var version: Located<Int>
  /// Where sync IDs, applied config, snapshots and runs live: `sqlite:PATH` or a PostgreSQL URL.
  public var state: Located<String>
  public var sources: [Source]
  public var destinations: [Destination]
  public var syncLogs: SyncLogs?
  /// Names for failure reasons (`error_categories:`), in file order: the first that matches wins.
  public var errorCategories: [ErrorCategory] = []
  public var models: [Model]
  /// Where alerts go (`notifications:`), in file order.
  public var notifications: [NotificationChannel] = []
  /// The alerts every sync has unless it says otherwise (`alerts:`).
  public var alerts: [AlertRule] = []
  public var syncs: [Sync]
  /// The dbt project whose models `dbt: NAME` model files read (`dbt:`).
  public var dbt: DBTSettings?

  public func sync(named name: String) -> Sync? { syncs.first { $0.name.value == name } }

  /// The sync's model: its inline one, or the shared one it names.
  public func model(of sync: Sync) -> Model? {
    sync.inlineModel ?? models.first { $0.name.value == sync.model.value }
  }
}

/// Where syncs send rows.
public struct Destination: Sendable, Encodable {
  public var name: Located<String>
  /// The driver's kind (`postgres`, `http`, …).
  public var type: Located<String>
  public var driver: any DestinationDriver
  public var settings: any ConnectorSettings

  public init(
    name: Located<String>, type: Located<String>, driver: any DestinationDriver, settings: any ConnectorSettings
  ) {
    self.name = name
    self.type = type
    self.driver = driver
    self.settings = settings
  }

  /// What this destination can do, as its driver says for its settings.
  public var capabilities: DestinationCapabilities { driver.capabilities(settings) }

  /// Whether Backflow can read this destination's records back.
  public var isReadable: Bool { capabilities.readsBack }

  /// The settings' keys beside `name` and `type`, as written (secrets as `${NAME}`).
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: ConnectorKey.self)
    try container.encode(name, forKey: ConnectorKey("name"))
    try container.encode(type, forKey: ConnectorKey("type"))
    try settings.encode(to: encoder)
  }
}

/// Where run logs are written back to the warehouse.
public struct SyncLogs: Sendable, Encodable {
  public static let defaultSchema = "backflow"

  public var source: Located<String>
  public var schema: Located<String>
}

/// A name for the failure reasons a regular expression matches, for `backflow errors`.
public struct ErrorCategory: Sendable, Encodable {
  /// Where reasons that match no category are listed; no category may take this name.
  public static let uncategorised = "uncategorised"

  public var name: Located<String>
  /// An ICU regular expression (`NSRegularExpression`), matched anywhere in a reason.
  public var pattern: Located<String>

  public init(name: Located<String>, pattern: Located<String>) {
    self.name = name
    self.pattern = pattern
  }

  /// The compiled expression; validation has already rejected patterns that do not compile.
  public func expression() throws -> NSRegularExpression {
    try NSRegularExpression(pattern: pattern.value)
  }

  /// Whether the expression matches somewhere in `reason`.
  public static func matches(_ expression: NSRegularExpression, _ reason: String) -> Bool {
    expression.firstMatch(in: reason, range: NSRange(reason.startIndex..., in: reason)) != nil
  }

  /// What is wrong with `pattern` as a regular expression, or `nil` when it compiles.
  ///
  /// NSRegularExpression decides; its error says only "the value is invalid", so the reason
  /// comes from Swift's own regex parser when that one can tell.
  public static func problem(compiling pattern: String) -> String? {
    guard (try? NSRegularExpression(pattern: pattern)) == nil else { return nil }
    do {
      _ = try Regex(pattern)
    } catch {
      return "\(error)"
    }
    return "ICU does not accept it"
  }
}
