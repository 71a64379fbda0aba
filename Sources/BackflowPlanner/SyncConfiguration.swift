import BackflowConfig

/// The config of one sync in canonical form: what state stores as "applied" and the config plan
/// compares. It takes in the sync's model, source and destination, since changing any of them
/// changes what the sync does; secrets appear as written (`${CRM_TOKEN}`), never read, and the
/// source's and destination's keys with their credentials masked (`Redaction`), since a URL written
/// in backflow.yaml may hold a password.
public struct SyncConfiguration: Sendable, Equatable {
  public let json: JSONValue

  public init(json: JSONValue) {
    self.json = json
  }

  public init(sync: Sync, in project: Project) throws {
    let model = project.model(of: sync)
    let canonical = Canonical(
      name: sync.name, model: model, source: model.flatMap { model in
        project.sources.first { $0.name.value == model.source.value }
      }, destination: project.destinations.first { $0.name.value == sync.destination.value },
      type: sync.type, object: sync.object, mode: sync.mode, match: sync.match, mappings: sync.mappings,
      batch: sync.batch, onDelete: sync.onDelete, maxRemove: sync.maxRemove, schedule: sync.schedule,
      enabled: sync.enabled, requests: sync.requests)
    json = try JSONValue(encoding: canonical).maskingCredentials(under: ["source", "destination"])
  }

  /// Parses config stored in state.
  public init(stored text: String) throws {
    json = try JSONValue.parse(text)
  }

  /// One line, keys sorted: what state stores.
  public var text: String { json.rendered(compact: true) }

  public var hash: String { MD5.hex(text) }

  /// The fingerprint signature: the match and the mappings, whose change changes every row.
  /// Mappings are sorted so that reordering them changes nothing.
  public var fingerprint: Fingerprint {
    let mappings = json["mappings"].flatMap { value -> [JSONValue]? in
      guard case let .array(items) = value else { return nil }
      return items.sorted { $0.rendered(compact: true) < $1.rendered(compact: true) }
    }
    let signature = JSONValue.object([
      ("match", json["match"] ?? .null), ("mappings", mappings.map(JSONValue.array) ?? .null),
    ])
    return Fingerprint(signature: MD5.hex(signature.rendered(compact: true)))
  }

  /// The primary key this config keys the snapshot by.
  public var primaryKey: String? {
    guard case let .string(key)? = json["model"]?["primary_key"] else { return nil }
    return key
  }

  /// Every path whose value differs from `earlier`, as `mappings[1].to`.
  public func changes(since earlier: SyncConfiguration) -> [ConfigChange] {
    ConfigChange.between(earlier.json, json, at: "")
  }

  private struct Canonical: Encodable {
    var name: Located<String>
    var model: Model?
    var source: Source?
    var destination: Destination?
    var type: Located<Sync.Kind>
    var object: Located<String>
    var mode: Located<Sync.Mode>
    var match: Sync.Match?
    var mappings: [Mapping]
    var batch: Batch
    var onDelete: Located<Sync.DeleteBehavior>
    var maxRemove: Located<MaxRemove>
    var schedule: Located<Schedule>
    var enabled: Located<Bool>
    var requests: RequestTemplates?
  }
}

extension JSONValue {
  /// Every string under the top-level `keys` with its credentials masked.
  fileprivate func maskingCredentials(under keys: Set<String>) -> JSONValue {
    guard case let .object(members) = self else { return self }
    return .object(members.map { key, value in (key, keys.contains(key) ? value.maskingCredentials : value) })
  }

  private var maskingCredentials: JSONValue {
    switch self {
    case let .string(text): .string(Redaction.redact(text))
    case let .array(items): .array(items.map(\.maskingCredentials))
    case let .object(members): .object(members.map { ($0, $1.maskingCredentials) })
    default: self
    }
  }
}

/// One changed value in a sync's config.
public struct ConfigChange: Sendable, Equatable {
  /// `mappings[1].to`, `model.relation.query`.
  public var path: String
  /// `nil` when the value was absent.
  public var before: JSONValue?
  public var after: JSONValue?

  public init(path: String, before: JSONValue?, after: JSONValue?) {
    self.path = path
    self.before = before
    self.after = after
  }

  static func between(_ before: JSONValue?, _ after: JSONValue?, at path: String) -> [ConfigChange] {
    switch (before, after) {
    case let (.object(old)?, .object(new)?):
      var keys = new.map(\.0)
      keys += old.map(\.0).filter { !keys.contains($0) }
      return keys.flatMap { key in
        between(old.first { $0.0 == key }?.1, new.first { $0.0 == key }?.1, at: path.isEmpty ? key : "\(path).\(key)")
      }
    case let (.array(old)?, .array(new)?):
      return (0..<max(old.count, new.count)).flatMap { index in
        between(index < old.count ? old[index] : nil, index < new.count ? new[index] : nil, at: "\(path)[\(index)]")
      }
    default:
      return before == after ? [] : [ConfigChange(path: path, before: before, after: after)]
    }
  }
}
