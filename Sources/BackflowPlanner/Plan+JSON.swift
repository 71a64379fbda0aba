import BackflowConfig
import BackflowSources
import BackflowState

extension Plan {
  /// The documented JSON form (docs/plan-format.md); a plan file's header adds each sync's config.
  public func json(backflowVersion: String, includingConfig: Bool = false) -> JSONValue {
    .object([
      ("format_version", .int(Self.formatVersion)),
      ("backflow_version", .string(backflowVersion)),
      ("commit", commit.map(JSONValue.string) ?? .null),
      ("state_lineage", stateLineage.map(JSONValue.string) ?? .null),
      ("changes", .bool(hasChanges)),
      ("syncs", .array(syncs.map { $0.json(includingConfig: includingConfig) })),
      (
        "errors",
        .array(
          diagnostics.sorted.map { diagnostic in
            .object([
              ("severity", .string(diagnostic.severity.rawValue)), ("message", .string(diagnostic.message)),
              ("file", .string(diagnostic.location.file)), ("line", .int(diagnostic.location.line)),
              ("column", .int(diagnostic.location.column)),
            ])
          })
      ),
    ])
  }
}

extension SyncPlan {
  /// `planned`, `failed` (see the plan's errors), `disabled` or `retired`.
  public var status: String {
    if configAction == .retire { return "retired" }
    if failed { return "failed" }
    return enabled ? "planned" : "disabled"
  }

  func json(includingConfig: Bool) -> JSONValue {
    func count(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    var members: [(String, JSONValue)] = [
      ("name", .string(name)),
      ("id", count(id)),
      ("status", .string(status)),
      ("config_action", .string(configAction.rawValue)),
      (
        "config_changes",
        .array(
          configChanges.map { change in
            .object([
              ("path", .string(change.path)), ("before", change.before ?? .null), ("after", change.after ?? .null),
            ])
          })
      ),
      ("model", model.map(JSONValue.string) ?? .null),
      ("dbt", dbt.map(JSONValue.string) ?? .null),
      ("destination", destination.map(JSONValue.string) ?? .null),
      ("pending", pending.map { .string($0.action.rawValue) } ?? .null),
      ("requested_by", pending.map { .string($0.requestedBy) } ?? .null),
      ("requested_at", pending.map { .string($0.requestedAt) } ?? .null),
      ("basis", data.map { .string($0.basis.rawValue) } ?? .null),
      ("rows_queried", count(data?.rowsQueried)),
      ("add", count(data?.add)),
      ("change", count(data?.change)),
      ("remove", count(data?.remove)),
      ("unchanged", count(data?.unchanged)),
      ("previous_rows", count(data?.previousRows)),
      ("duplicate_keys", count(data?.duplicateKeys)),
      ("null_keys", count(data?.nullKeys)),
      ("recorded", count(data?.recorded)),
      ("ignored_removals", count(data?.ignoredRemovals)),
      ("sweep", data.map { .bool($0.sweep) } ?? .null),
      ("warnings", .array(warnings.map(JSONValue.string))),
    ]
    if let data, !data.sampleKeys.isEmpty || !data.rejectedKeys.isEmpty {
      members.append(
        (
          "rows",
          .object(
            DataPlan.Operation.allCases.map { ($0.rawValue, .array(data.sampleKeys[$0, default: []].map(JSONValue.string))) }
              + [("rejected", .array(data.rejectedKeys.map(JSONValue.string)))])
        ))
    }
    if includingConfig {
      members += [("serial", count(serial)), ("config_hash", config.map { .string($0.hash) } ?? .null)]
      members.append(("config", config?.json ?? .null))
      if let copy = data?.typedCopy { members.append(("typed_copy", copy.json)) }
    }
    return .object(members)
  }
}

extension TypedCopy {
  /// As a plan's sync names it (`typed_copy`), for apply to keep.
  public var json: JSONValue {
    .object([("key_type", .string(keyType)), ("types", .array(types.map(JSONValue.string))), ("stamp", .string(stamp))])
  }

  public init?(json: JSONValue?) {
    guard case let .string(keyType)? = json?["key_type"], case let .array(types)? = json?["types"],
      case let .string(stamp)? = json?["stamp"]
    else { return nil }
    let names = types.compactMap { if case let .string(name) = $0 { name } else { nil } }
    guard names.count == types.count else { return nil }
    self.init(keyType: keyType, types: names, stamp: stamp)
  }
}

extension FieldValue {
  /// The value in JSON, keeping its type.
  public var json: JSONValue {
    switch self {
    case .null: .null
    case let .bool(flag): .bool(flag)
    case let .integer(number): .int(Int(number))
    case let .number(text): .number(text)
    case let .string(text): .string(text)
    case let .json(text): (try? JSONValue.parse(text)) ?? .string(text)
    }
  }

  /// The value `json` gave, read back from a plan file: objects and arrays become `.json` text.
  public init(json: JSONValue) {
    switch json {
    case .null: self = .null
    case let .bool(flag): self = .bool(flag)
    case let .int(number): self = .integer(Int64(number))
    case let .double(number): self = .number(JSONValue.double(number).rendered(compact: true))
    case let .number(text): self = .number(text)
    case let .string(text): self = .string(text)
    case .array, .object: self = .json(json.rendered(compact: true))
    }
  }
}
