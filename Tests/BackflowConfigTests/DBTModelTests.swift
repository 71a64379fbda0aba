import BackflowConfig
import BackflowConnectors
import BackflowTestSupport
import Foundation
import Testing

/// `dbt: NAME` model files read from a dbt manifest written here by hand: the relation, the primary
/// key in its order of sources, and every way a manifest or a name can be wrong. A manifest that
/// `dbt build` writes is read in DBTCommandTests.
@Suite("dbt models")
struct DBTModelTests {
  static let project = ProjectFixture.projectFile + """
    dbt:
      project: analytics
      source: warehouse

    """
  static let sync = "model: customers\ndestination: local\nobject: contacts\nmatch: { email: email }\n"

  /// A v12 manifest with `customers` (its key as `key` says), `orders` (no key), an ephemeral
  /// model, a package's model, and tests.
  static func manifest(
    version: String = "v12", customers: String = "", tests: [(String, String)] = [], modelFile: String = "models/customers.sql"
  ) -> String {
    let testNodes = tests.enumerated().map { index, test in
      """
      "test.shop.\(test.0)_\(index)": {"resource_type": "test", "name": "\(test.0)", "package_name": "shop",
        "attached_node": "model.shop.customers", "column_name": "\(test.1)",
        "test_metadata": {"name": "\(test.0)", "kwargs": {"column_name": "\(test.1)"}}}
      """
    }
    let nodes = [
      """
      "model.shop.customers": {"resource_type": "model", "name": "customers", "package_name": "shop",
        "database": "analytics_db", "schema": "marts", "alias": "dim_customers", "original_file_path": "\(modelFile)",
        "config": {"materialized": "table", "meta": {}},
        "columns": {"customer_id": {"name": "customer_id", "constraints": []}, "email": {"name": "email", "constraints": []}}
        \(customers)}
      """,
      """
      "model.shop.orders": {"resource_type": "model", "name": "orders", "package_name": "shop", "database": "d",
        "schema": "marts", "alias": "orders", "original_file_path": "models/orders.sql", "config": {"materialized": "view"}}
      """,
      """
      "model.shop.stg_people": {"resource_type": "model", "name": "stg_people", "package_name": "shop", "database": "d",
        "schema": "marts", "alias": "stg_people", "original_file_path": "models/stg_people.sql",
        "config": {"materialized": "ephemeral", "meta": {"primary_key": "id"}}}
      """,
    ] + testNodes
    return """
      {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/\(version).json",
        "dbt_version": "1.11.2", "project_name": "shop"},
       "nodes": {\(nodes.joined(separator: ",\n"))}}
      """
  }

  static func load(
    model: String = "dbt: customers\n", manifest: String? = DBTModelTests.manifest(), extra: [String: String] = [:]
  ) -> LoadedProject {
    var files = [
      "backflow.yaml": project, "syncs/models/users.yaml": "", "syncs/models/customers.yaml": model,
      "syncs/to_crm.yaml": sync, "analytics/models/customers.sql": "select 1",
    ]
    if let manifest { files["analytics/target/manifest.json"] = manifest }
    return withTemporaryDirectory { directory in
      ProjectFixture.write(files.merging(extra) { $1 }, into: directory)
      // The model file was written before the manifest, as dbt build leaves them.
      for (path, age) in [("analytics/models/customers.sql", -60.0), ("analytics/target/manifest.json", -30)] {
        try? FileManager.default.setAttributes(
          [.modificationDate: Date(timeIntervalSinceNow: age)], ofItemAtPath: directory.appendingPathComponent(path).path)
      }
      return ProjectLoader(directory: directory, displayPath: ".", environment: [:]).load()
    }
  }

  static func errors(_ loaded: LoadedProject) -> [String] {
    loaded.diagnostics.sorted.filter { $0.severity == .error }.map(\.description)
  }

  static func key(_ loaded: LoadedProject) -> String? {
    loaded.project.models.first { $0.name.value == "customers" }?.primaryKey.value
  }

  @Test func aDBTModelReadsItsRelationAndSourceFromTheManifest() throws {
    let loaded = Self.load(manifest: Self.manifest(customers: #", "constraints": [{"type": "primary_key", "columns": ["customer_id"]}]"#))
    #expect(Self.errors(loaded) == [])
    let model = try #require(loaded.project.models.first)
    #expect(model.source.value == "warehouse")
    #expect(model.primaryKey.value == "customer_id")
    #expect(model.dbtDescription == "dbt:customers → marts.dim_customers")
    guard case let .dbt(relation) = model.relation else { Issue.record("not a dbt relation"); return }
    #expect(relation.database == "analytics_db")
    #expect(relation.quoted { "\"\($0)\"" } == #""marts"."dim_customers""#)
  }

  @Test func thePrimaryKeyComesFromTheModelFileThenConstraintThenMetaThenTests() {
    let constraint = #", "constraints": [{"type": "primary_key", "columns": ["customer_id"]}]"#
    let meta = #", "meta": {"primary_key": "email"}"#
    let bothTests = [("unique", "email"), ("not_null", "email")]
    // The model file's own primary_key wins over everything the manifest says.
    #expect(Self.key(Self.load(model: "dbt: customers\nprimary_key: email\n", manifest: Self.manifest(customers: constraint))) == "email")
    #expect(Self.key(Self.load(manifest: Self.manifest(customers: constraint + meta, tests: bothTests))) == "customer_id")
    // A constraint on the column, rather than on the model.
    let columnConstraint = Self.manifest().replacingOccurrences(
      of: #""customer_id", "constraints": []"#, with: #""customer_id", "constraints": [{"type": "primary_key"}]"#)
    #expect(Self.key(Self.load(manifest: columnConstraint)) == "customer_id")
    #expect(Self.key(Self.load(manifest: Self.manifest(customers: meta, tests: [("unique", "customer_id"), ("not_null", "customer_id")]))) == "email")
    // meta.primary_key under config, where dbt 1.10 and later put meta.
    let configMeta = Self.manifest().replacingOccurrences(
      of: #""materialized": "table", "meta": {}"#, with: #""materialized": "table", "meta": {"primary_key": "email"}"#)
    #expect(Self.key(Self.load(manifest: configMeta)) == "email")
    #expect(Self.key(Self.load(manifest: Self.manifest(tests: bothTests + [("unique", "customer_id")]))) == "email")
    // Both tested: the first in the model's column order.
    let allTested = [("unique", "email"), ("not_null", "email"), ("not_null", "customer_id"), ("unique", "customer_id")]
    #expect(Self.key(Self.load(manifest: Self.manifest(tests: allTested))) == "customer_id")
  }

  @Test func aModelWithoutAKeyAnywhereIsAClearError() {
    let loaded = Self.load(manifest: Self.manifest(tests: [("unique", "email")]))
    #expect(Self.errors(loaded) == [
      "syncs/models/customers.yaml:1:6: error: dbt model \"customers\" has no primary key in the manifest: set "
        + "primary_key: here, or give the model a primary_key constraint, meta.primary_key, or a column with both "
        + "unique and not_null tests"
    ])
    let composite = Self.load(manifest: Self.manifest(customers: #", "constraints": [{"type": "primary_key", "columns": ["a", "b"]}]"#))
    #expect(Self.errors(composite) == [
      "syncs/models/customers.yaml:1:6: error: the primary_key constraint of dbt model customers names 2 columns (a, b); "
        + "Backflow keys rows by one column: set primary_key: to a column that is unique on its own"
    ])
  }

  @Test func aModelMissingFromTheManifestGetsDidYouMeanAtItsPlace() {
    let loaded = Self.load(model: "primary_key: id\ndbt: custmers\n")
    #expect(Self.errors(loaded) == [
      "syncs/models/customers.yaml:2:6: error: dbt model \"custmers\" is not in the manifest "
        + "analytics/target/manifest.json; did you mean \"customers\"?"
    ])
    let ephemeral = Self.load(model: "dbt: stg_people\n")
    #expect(Self.errors(ephemeral) == [
      "syncs/models/customers.yaml:1:6: error: dbt model \"stg_people\" is ephemeral: dbt builds no relation for it to read"
    ])
  }

  @Test func aMissingStaleOrUnsupportedManifestSaysWhatToDo() {
    #expect(Self.errors(Self.load(manifest: nil)) == [
      "backflow.yaml:9:3: error: the dbt manifest analytics/target/manifest.json does not exist; run `dbt build` "
        + "(or `dbt parse`) in analytics first, which writes it"
    ])
    #expect(Self.errors(Self.load(manifest: Self.manifest(version: "v11"))) == [
      "backflow.yaml:9:3: error: the dbt manifest analytics/target/manifest.json has schema version v11 (written by "
        + "dbt 1.11.2); Backflow reads v12, which dbt 1.8 to 1.11 write"
    ])
    #expect(Self.errors(Self.load(manifest: "{not json")).first?.hasPrefix(
      "backflow.yaml:9:3: error: the dbt manifest analytics/target/manifest.json is not JSON: ") == true)
    // A model file changed after the manifest was written: dbt has not built what it says.
    let stale = Self.load(
      manifest: Self.manifest(modelFile: "models/new.sql"), extra: ["analytics/models/new.sql": "select 2"])
    #expect(Self.errors(stale) == [
      "backflow.yaml:9:3: error: the dbt manifest analytics/target/manifest.json is stale: analytics/models/new.sql "
        + "changed after it was written; run `dbt build` (or `dbt parse`) in analytics again"
    ])
  }

  @Test func theManifestIsAFileTheDaemonWatches() {
    withTemporaryDirectory { directory in
      ProjectFixture.write(["backflow.yaml": Self.project], into: directory)
      let files = ProjectLoader(directory: directory, displayPath: ".", environment: [:]).projectFiles()
      #expect(files == ["backflow.yaml", "syncs/models/users.yaml", "analytics/target/manifest.json"])
    }
  }

  @Test func dbtNeedsTheDBTBlockAndExcludesQueryAndTable() {
    let withoutBlock = withTemporaryDirectory { directory in
      ProjectFixture.write(["syncs/models/users.yaml": "dbt: users\n"], into: directory)
      return ProjectLoader(directory: directory, displayPath: ".", environment: [:]).load()
    }
    #expect(Self.errors(withoutBlock) == [
      "syncs/models/users.yaml:1:6: error: dbt: \"users\" needs the dbt project declared in backflow.yaml, "
        + "e.g. dbt: { project: ../analytics, source: warehouse }"
    ])
    #expect(Self.errors(Self.load(model: "dbt: customers\ntable: marts.customers\n")) == [
      "syncs/models/customers.yaml:1:1: error: a model has both table and dbt; keep one"
    ])
    let badSource = Self.load(model: "dbt: customers\nprimary_key: customer_id\n", extra: ["backflow.yaml": Self.project.replacingOccurrences(of: "source: warehouse", with: "source: warehous")])
    #expect(Self.errors(badSource) == [
      "backflow.yaml:10:11: error: source \"warehous\" is not declared in backflow.yaml under sources; did you mean \"warehouse\"?"
    ])
  }
}
