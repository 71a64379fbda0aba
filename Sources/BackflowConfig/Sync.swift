/// One sync: a model's rows kept in step with an object in a destination.
public struct Sync: Sendable, Encodable {
  public enum Kind: String, Sendable, Encodable, CaseIterable {
    case object
    case event
    case list

    /// The modes a sync of this type can use; the first is its default.
    public var modes: [Mode] {
      switch self {
      case .object: [.upsert, .update, .insert, .mirror]
      case .event: [.insert]
      case .list: [.addRemove]
      }
    }
  }

  public enum Mode: String, Sendable, Encodable, CaseIterable {
    case upsert
    case update
    case insert
    case mirror
    case addRemove = "add_remove"

    /// Modes that find existing destination records, and so need `match`.
    public var matchesRecords: Bool { self != .insert }
  }

  public enum DeleteBehavior: String, Sendable, Encodable, CaseIterable {
    case nothing
    case clear
    case delete
  }

  /// `match: { model_column: destination_field }`
  public struct Match: Sendable, Encodable {
    public var column: Located<String>
    public var field: Located<String>
  }

  public static let defaultMaxRemove = MaxRemove.percent(50)

  public var name: Located<String>
  /// The sync file, as shown to the user.
  public var file: String
  /// The model's name: a file under `syncs/models/`, or the sync's own name when inline.
  public var model: Located<String>
  /// The model written inside this sync, if it was.
  public var inlineModel: Model?
  public var destination: Located<String>
  public var type: Located<Kind>
  public var object: Located<String>
  public var mode: Located<Mode>
  public var match: Match?
  public var mappings: [Mapping]
  public var batch: Batch
  public var onDelete: Located<DeleteBehavior>
  public var maxRemove: Located<MaxRemove>
  public var schedule: Located<Schedule>
  public var enabled: Located<Bool>
  /// The sync's own `alerts:` entries, which replace the project's with the same `when`.
  public var alerts: [AlertRule] = []
  /// The request each operation sends, for a `rest` destination.
  public var requests: RequestTemplates?
}

/// One destination field and where its value comes from.
public struct Mapping: Sendable, Encodable {
  public enum Origin: Sendable, Encodable {
    /// A model column.
    case column(Located<String>)
    /// The same value for every row, with its YAML type (string, number, boolean or null).
    case value(Located<ScalarValue>)
    /// `{{ column }}` text rendered per row.
    case template(Located<String>)

    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: Key.self)
      switch self {
      case let .column(name): try container.encode(name, forKey: .from)
      case let .value(value): try container.encode(value, forKey: .value)
      case let .template(text): try container.encode(text, forKey: .template)
      }
    }

    private enum Key: String, CodingKey {
      case from
      case value
      case template
    }
  }

  public var origin: Origin
  public var to: Located<String>

  public func encode(to encoder: any Encoder) throws {
    try origin.encode(to: encoder)
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(to, forKey: .to)
  }

  private enum Key: String, CodingKey {
    case to
  }
}

/// A static mapping value, keeping the type YAML gave it.
public enum ScalarValue: Sendable, Hashable, Encodable {
  case string(String)
  case integer(Int)
  case number(Double)
  case boolean(Bool)
  case null

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case let .string(text): try container.encode(text)
    case let .integer(number): try container.encode(number)
    case let .number(number): try container.encode(number)
    case let .boolean(flag): try container.encode(flag)
    case .null: try container.encodeNil()
    }
  }
}

/// How rows are grouped and paced when sent.
public struct Batch: Sendable, Encodable {
  public static let defaultSize = 500
  public static let defaultConcurrency = 1

  public var size: Located<Int>
  public var concurrency: Located<Int>
  public var rate: Located<Rate>?
}

/// The deletion guard: how many of the previous run's rows a plan may remove before apply refuses.
public enum MaxRemove: Sendable, Hashable, Encodable, CustomStringConvertible {
  case percent(Double)
  case rows(Int)

  public var description: String {
    switch self {
    case let .percent(share): share.rounded() == share ? "\(Int(share))%" : "\(share)%"
    case let .rows(count): String(count)
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .percent: try container.encode(description)
    case let .rows(count): try container.encode(count)
    }
  }
}

extension Sync {
  /// The destination operations this sync can send, by type, mode and `on_delete` (the engine's
  /// route, `Sync+Route.swift`, sends each planned row as one of them); `clear` is only sent by
  /// `resync --clear` and is not listed.
  public var sentOperations: [String] {
    switch (type.value, mode.value) {
    case (.list, _): return ["add", "remove"]
    case (.event, _): return ["track"]
    case (.object, .insert): return ["insert"]
    case (.object, .mirror): return ["upsert", "delete"]
    case (.object, let mode):
      let write = mode == .update ? "update" : "upsert"
      switch onDelete.value {
      case .nothing: return [write]
      case .clear: return [write, "clear_fields"]
      case .delete: return [write, "delete"]
      }
    }
  }

  /// Why the sync sends `operation`, for messages.
  func reason(for operation: String) -> String {
    switch operation {
    case "delete": mode.value == .mirror ? "mode mirror deletes removed rows" : "on_delete: delete"
    case "clear_fields": "on_delete: clear"
    default: "\(type.value.rawValue) sync, mode \(mode.value.rawValue)"
    }
  }
}
