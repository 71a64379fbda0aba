/// What a sync's typed copy holds (docs/state.md): beside each snapshot entry, the values of the
/// columns the sync uses, in the model's own column types, so that a plan compares the model with
/// them column by column and fingerprints only the rows that differ. Kept in a PostgreSQL state
/// store that lives in the model's database.
public struct TypedCopy: Sendable, Equatable {
  /// The key's SQL type in the copy (`bigint`, `uuid`, `text COLLATE "C"`).
  public var keyType: String
  /// The SQL type of each planned column, in the plan's column order.
  public var types: [String]
  /// What the values mean: the fingerprint's signature, the types, and the session settings that
  /// shape their text. A copy stamped otherwise is rebuilt by apply and never read by a plan.
  public var stamp: String

  public init(keyType: String, types: [String], stamp: String) {
    self.keyType = keyType
    self.types = types
    self.stamp = stamp
  }

  /// The name of the copy's `index`th value column.
  public static func column(_ index: Int) -> String { "c\(index)" }
}
