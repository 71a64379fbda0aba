/// backflow.yaml's `dbt:`: where the dbt project is, where its manifest is, and which source dbt
/// builds its relations in.
public struct DBTSettings: Sendable, Encodable {
  public static let defaultManifest = "target/manifest.json"

  /// The dbt project's directory (holds dbt_project.yml), relative to the Backflow project.
  public var project: Located<String>
  /// The manifest, relative to `project`.
  public var manifest: Located<String>
  /// The Backflow source where dbt builds its relations.
  public var source: Located<String>
}

/// The relation dbt built for one model, as a `dbt: NAME` model file names it.
public struct DBTRelation: Sendable, Equatable, Encodable {
  /// The dbt model's name, where the model file wrote it.
  public var model: Located<String>
  public var database: String?
  public var schema: String
  public var alias: String

  public init(model: Located<String>, database: String?, schema: String, alias: String) {
    self.model = model
    self.database = database
    self.schema = schema
    self.alias = alias
  }

  /// `schema.alias`, as `plan` shows it.
  public var name: String { "\(schema).\(alias)" }

  /// The relation quoted with `quote` on each part. The database is the source connection's: a
  /// PostgreSQL or SQLite connection reads the database it opened, so only schema and alias are named.
  public func quoted(_ quote: (String) -> String) -> String {
    "\(quote(schema)).\(quote(alias))"
  }

  /// What applied config records: the dbt model's name and its relation, so a new schema or alias
  /// is a config change.
  public func encode(to encoder: any Encoder) throws {
    try Recorded(dbt: model, relation: name).encode(to: encoder)
  }

  private struct Recorded: Encodable {
    var dbt: Located<String>
    var relation: String
  }
}
