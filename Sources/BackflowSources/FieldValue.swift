/// A value read from a model, keeping the type the source gave it.
public enum FieldValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case integer(Int64)
  /// A decimal as the source printed it, so no digit is lost on the way to the destination.
  case number(String)
  case string(String)
  /// JSON text from a `json` or `jsonb` column.
  case json(String)

  /// The value as the source prints it (PostgreSQL's output function, SQLite's text), `nil` for
  /// NULL: what fingerprints are computed over, in Swift or inside the warehouse.
  public var text: String? {
    switch self {
    case .null: nil
    case let .bool(flag): flag ? "t" : "f"
    case let .integer(number): String(number)
    case let .number(text), let .string(text), let .json(text): text
    }
  }
}

/// One row of a model: its key as text (`nil` for a NULL key) and the values of the columns asked for.
public struct ModelRow: Sendable, Equatable {
  public var key: String?
  public var values: [FieldValue]

  public init(key: String?, values: [FieldValue]) {
    self.key = key
    self.values = values
  }
}

/// A model's rows, read one at a time in the order of their keys' UTF-8 bytes, NULL keys first.
public protocol ModelRowStream: AnyObject {
  func next() throws -> ModelRow?
}
