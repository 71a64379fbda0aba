/// A SQL query or table over a source, whose rows a sync keeps a destination in step with.
public struct Model: Sendable, Encodable {
  public enum Relation: Sendable, Encodable {
    case query(Located<String>)
    case table(Located<String>)
    /// The relation dbt built for a model (`dbt: NAME`), read from its manifest.
    case dbt(DBTRelation)

    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: Key.self)
      switch self {
      case let .query(sql): try container.encode(sql, forKey: .query)
      case let .table(name): try container.encode(name, forKey: .table)
      case let .dbt(relation): try relation.encode(to: encoder)
      }
    }

    private enum Key: String, CodingKey {
      case query
      case table
    }
  }

  /// The file stem under `syncs/models/`, or the sync's name for an inline model.
  public var name: Located<String>
  public var source: Located<String>
  public var primaryKey: Located<String>
  public var relation: Relation
  /// Columns whose text is JSON (`json: [payload]`): read as objects and arrays where fields are
  /// JSON (rest, http and JSON Lines destinations), sent as the text elsewhere.
  public var json: [Located<String>] = []

  public init(name: Located<String>, source: Located<String>, primaryKey: Located<String>, relation: Relation) {
    self.name = name
    self.source = source
    self.primaryKey = primaryKey
    self.relation = relation
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .name)
    try container.encode(source, forKey: .source)
    try container.encode(primaryKey, forKey: .primaryKey)
    try container.encode(relation, forKey: .relation)
    // Absent when empty, so a model without it keeps the applied config it had.
    if !json.isEmpty { try container.encode(json, forKey: .json) }
  }

  private enum Key: String, CodingKey {
    case name
    case source
    case primaryKey
    case relation
    case json
  }
}

extension Model {
  /// The dbt model it reads, if any: `dbt:customers → analytics.customers`, as `plan` shows it.
  public var dbtDescription: String? {
    guard case let .dbt(relation) = relation else { return nil }
    return "dbt:\(relation.model.value) → \(relation.name)"
  }

  /// The dbt model it reads, if any.
  public var dbtModel: String? {
    guard case let .dbt(relation) = relation else { return nil }
    return relation.model.value
  }
}
