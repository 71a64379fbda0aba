import Foundation

/// What Backflow reads from a dbt `manifest.json`: each model's relation and what says which
/// column is its primary key.
///
/// Only the schema versions that the dbt releases Backflow supports write are read
/// (`supportedVersions`); anything else is refused with the version it has, since another
/// version may place the relation or the tests elsewhere.
public struct DBTManifest: Sendable {
  /// Manifest schema versions read, and the dbt releases that write them (dbt 1.8 to 1.11 all write v12).
  public static let supportedVersions = ["v12"]
  public static let supportedReleases = "dbt 1.8 to 1.11"

  /// One model node.
  public struct ModelNode: Sendable {
    public var uniqueID: String
    public var name: String
    public var packageName: String
    public var database: String?
    public var schema: String
    public var alias: String
    public var materialized: String?
    /// The model's file, relative to its package's directory (`models/customers.sql`).
    public var originalFilePath: String
    /// Column names in the order the model's properties list them.
    public var columns: [String]
    /// Columns named by a `primary_key` constraint, on the model or on a column.
    public var constraintKey: [String]
    /// `meta.primary_key` (or `config.meta.primary_key`), as one column or a list.
    public var metaKey: [String]
  }

  public var schemaVersion: String
  public var dbtVersion: String?
  public var projectName: String?
  public var models: [ModelNode]
  /// Test names (`unique`, `not_null`) on each `unique_id` and column.
  public var columnTests: [String: [String: Set<String>]]

  /// Why a manifest cannot be used; the message is written for the user.
  public struct Problem: Error, Sendable {
    public var message: String
  }

  /// Reads the manifest at `url`; `shown` is its path as messages show it.
  public static func load(from url: URL, shown: String) throws(Problem) -> DBTManifest {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw Problem(message: "the dbt manifest \(shown) does not exist")
    }
    let json: JSONValue
    do {
      json = try data.withUnsafeBytes { try JSONValue.parse(utf8: $0.bindMemory(to: UInt8.self)) }
    } catch {
      throw Problem(message: "the dbt manifest \(shown) is not JSON: \(error)")
    }
    return try DBTManifest(json, shown: shown)
  }

  init(_ json: JSONValue, shown: String) throws(Problem) {
    guard case let .string(schemaURL)? = json["metadata"]?["dbt_schema_version"] else {
      throw Problem(message: "\(shown) is not a dbt manifest: it has no metadata.dbt_schema_version")
    }
    // https://schemas.getdbt.com/dbt/manifest/v12.json
    let version = schemaURL.split(separator: "/").last.map { String($0.split(separator: ".")[0]) } ?? schemaURL
    dbtVersion = json["metadata"]?["dbt_version"]?.text
    let kind = schemaURL.split(separator: "/").dropLast().last.map(String.init)
    guard kind == "manifest", Self.supportedVersions.contains(version) else {
      let writer = dbtVersion.map { " (written by dbt \($0))" } ?? ""
      throw Problem(
        message: "the dbt manifest \(shown) has schema version \(kind == "manifest" ? version : schemaURL)\(writer); "
          + "Backflow reads \(Self.supportedVersions.joined(separator: ", ")), which \(Self.supportedReleases) write")
    }
    schemaVersion = version
    projectName = json["metadata"]?["project_name"]?.text
    guard case let .object(nodes)? = json["nodes"] else {
      throw Problem(message: "the dbt manifest \(shown) has no nodes")
    }
    var models: [ModelNode] = []
    var tests: [String: [String: Set<String>]] = [:]
    for (id, node) in nodes {
      switch node["resource_type"]?.text {
      case "model":
        if let model = Self.model(id, node) { models.append(model) }
      case "test":
        guard let name = node["test_metadata"]?["name"]?.text, let attached = node["attached_node"]?.text,
          let column = node["column_name"]?.text ?? node["test_metadata"]?["kwargs"]?["column_name"]?.text
        else { continue }
        tests[attached, default: [:]][column, default: []].insert(name)
      default: continue
      }
    }
    self.models = models
    columnTests = tests
  }

  private static func model(_ id: String, _ node: JSONValue) -> ModelNode? {
    guard let name = node["name"]?.text, let schema = node["schema"]?.text else { return nil }
    var columns: [String] = []
    var constraintKey: [String] = []
    if case let .object(entries)? = node["columns"] {
      for (column, properties) in entries {
        let columnName = properties["name"]?.text ?? column
        columns.append(columnName)
        if case let .array(constraints)? = properties["constraints"],
          constraints.contains(where: { $0["type"]?.text == "primary_key" })
        {
          constraintKey.append(columnName)
        }
      }
    }
    if case let .array(constraints)? = node["constraints"],
      let primary = constraints.first(where: { $0["type"]?.text == "primary_key" })
    {
      constraintKey = primary["columns"]?.strings ?? constraintKey
    }
    let meta = node["config"]?["meta"]?["primary_key"] ?? node["meta"]?["primary_key"]
    return ModelNode(
      uniqueID: id, name: name, packageName: node["package_name"]?.text ?? "", database: node["database"]?.text,
      schema: schema, alias: node["alias"]?.text ?? name, materialized: node["config"]?["materialized"]?.text,
      originalFilePath: node["original_file_path"]?.text ?? "", columns: columns, constraintKey: constraintKey,
      metaKey: meta?.strings ?? meta?.text.map { [$0] } ?? [])
  }

  /// The model named `name`: the root project's before a package's, and a versioned model's latest version.
  public func model(named name: String) -> ModelNode? {
    let named = models.filter { $0.name == name }
    let own = named.filter { $0.packageName == projectName }
    return (own.isEmpty ? named : own).sorted { $0.uniqueID < $1.uniqueID }.last
  }

  /// Every model name, for "did you mean".
  public var modelNames: [String] { models.map(\.name) }

  /// The model's primary key from the manifest: its `primary_key` constraint, else
  /// `meta.primary_key`, else the first column (in property order) with both `unique` and
  /// `not_null` tests; `nil` when none says, or a problem when what says names several columns.
  public func primaryKey(of model: ModelNode) throws(Problem) -> String? {
    for (keys, said) in [(model.constraintKey, "the primary_key constraint"), (model.metaKey, "meta.primary_key")]
    where !keys.isEmpty {
      guard keys.count == 1 else {
        throw Problem(
          message: "\(said) of dbt model \(model.name) names \(keys.count) columns (\(keys.joined(separator: ", "))); "
            + "Backflow keys rows by one column: set primary_key: to a column that is unique on its own")
      }
      return keys[0]
    }
    let tested = (columnTests[model.uniqueID] ?? [:]).filter { $0.value.isSuperset(of: ["unique", "not_null"]) }.keys
    return tested.sorted { (model.columns.firstIndex(of: $0) ?? .max, $0) < (model.columns.firstIndex(of: $1) ?? .max, $1) }
      .first
  }

  /// The first model file of the root project that changed after the manifest was written,
  /// relative to `projectDirectory`; such a manifest may describe relations dbt has since rebuilt.
  public func newerModelFile(than written: Date, in projectDirectory: URL) -> String? {
    var newest: (path: String, date: Date)?
    for model in models where model.packageName == projectName && !model.originalFilePath.isEmpty {
      let url = projectDirectory.resolvingProjectPath(model.originalFilePath)
      guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
        let modified = attributes[.modificationDate] as? Date, modified > written,
        modified > newest?.date ?? .distantPast
      else { continue }
      newest = (model.originalFilePath, modified)
    }
    return newest?.path
  }
}

extension JSONValue {
  /// A string's text.
  fileprivate var text: String? {
    if case let .string(text) = self { return text }
    return nil
  }

  /// An array of strings.
  fileprivate var strings: [String]? {
    guard case let .array(items) = self else { return nil }
    return items.compactMap(\.text)
  }
}
