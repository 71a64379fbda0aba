import BackflowConfig
import BackflowConnectors
import BackflowTestSupport
import Foundation
import Testing

/// `schemas/*.schema.json` (what editors use) and the Swift validator (the authority) describe
/// the same keys and agree on the example projects.
@Suite("JSON Schemas")
struct SchemaAgreementTests {
  static let schemas = ProjectFixture.repositoryRoot.appendingPathComponent("schemas")

  func schema(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: Self.schemas.appendingPathComponent("\(name).schema.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  func keys(_ object: [String: Any], _ path: [String]) throws -> Set<String> {
    var node: Any = object
    for step in path {
      node = try #require((node as? [String: Any])?[step], "no \(path.joined(separator: "."))")
    }
    let properties = try #require(node as? [String: Any], "\(path) is not an object")
    return Set(properties.keys)
  }

  let catalog = ConnectorRegistry.standard.catalog

  @Test func schemasDescribeExactlyTheValidatorsKeys() throws {
    let project = try schema("project")
    let sync = try schema("sync")
    let model = try schema("model")
    let pairs: [(String, Set<String>, [String])] = [
      ("project", try keys(project, ["properties"]), ConfigKeys.project),
      ("source", try keys(project, ["definitions", "source", "properties"]), catalog.sourceKeys),
      ("destination", try keys(project, ["definitions", "destination", "properties"]), catalog.destinationKeys),
      ("sync_logs", try keys(project, ["definitions", "sync_logs", "properties"]), ConfigKeys.syncLogs),
      ("dbt", try keys(project, ["definitions", "dbt", "properties"]), ConfigKeys.dbt),
      ("planning", try keys(project, ["definitions", "planning", "properties"]), ConfigKeys.planning),
      ("notification", try keys(project, ["definitions", "notification", "properties"]), ConfigKeys.notification),
      ("alert", try keys(project, ["definitions", "alert", "properties"]), ConfigKeys.alert),
      ("sync alert", try keys(sync, ["definitions", "alert", "properties"]), ConfigKeys.alert),
      ("model", try keys(model, ["properties"]), ConfigKeys.model),
      ("sync", try keys(sync, ["properties"]), ConfigKeys.sync),
      ("mapping", try keys(sync, ["definitions", "mapping", "properties"]), ConfigKeys.mapping),
      ("batch", try keys(sync, ["definitions", "batch", "properties"]), ConfigKeys.batch),
      ("schedule", try keys(sync, ["definitions", "schedule", "properties"]), ConfigKeys.schedule),
      ("weekly", try keys(sync, ["definitions", "weekly", "properties"]), ConfigKeys.weekly),
      (
        "requests", try keys(sync, ["properties", "requests", "properties"]),
        RequestTemplates.operations + RequestTemplates.readingRequests
      ),
      ("request", try keys(sync, ["definitions", "request", "properties"]), ConfigKeys.request),
      ("result", try keys(sync, ["definitions", "result", "properties"]), ConfigKeys.result),
      ("records result", try keys(sync, ["definitions", "records_result", "properties"]), ConfigKeys.recordsResult),
      ("offset", try keys(sync, ["definitions", "request", "properties", "offset", "properties"]), ConfigKeys.offset),
    ]
    for (name, inSchema, inValidator) in pairs {
      #expect(inSchema == Set(inValidator), "\(name): schema-only \(inSchema.subtracting(inValidator)), validator-only \(Set(inValidator).subtracting(inSchema))")
    }
  }

  /// Each kind in the registry has its `type` word and one `if type … then` branch in the schema,
  /// requiring the driver's required keys and refusing the keys only other kinds take.
  @Test func schemasListEveryDriverWithItsOwnKeys() throws {
    let project = try schema("project")
    let definitions = try #require(project["definitions"] as? [String: Any])
    let kinds: [(String, [(kind: String, keys: [String], required: [String])], [String])] = [
      ("source", catalog.sources.map { ($0.kind, $0.keys, $0.requiredKeys) }, catalog.sourceKeys),
      ("destination", catalog.destinations.map { ($0.kind, $0.keys, $0.requiredKeys) }, catalog.destinationKeys),
    ]
    for (name, drivers, allKeys) in kinds {
      let definition = try #require(definitions[name] as? [String: Any])
      let properties = try #require(definition["properties"] as? [String: Any])
      let type = try #require(properties["type"] as? [String: Any])
      #expect(type["enum"] as? [String] == drivers.map(\.kind), "\(name).type lists the registry's kinds in its order")
      let branches = try #require(definition["allOf"] as? [[String: Any]])
      for driver in drivers {
        let branch = branches.first { branch in
          let condition = (branch["if"] as? [String: Any])?["properties"] as? [String: Any]
          return (condition?["type"] as? [String: Any])?["const"] as? String == driver.kind
        }
        let then = try #require(branch?["then"] as? [String: Any], "\(name) \(driver.kind) has no if/then branch")
        #expect(Set(then["required"] as? [String] ?? []) == Set(driver.required), "\(name) \(driver.kind) required keys")
        let refused = Set(((then["properties"] as? [String: Any]) ?? [:]).filter { $0.value as? Bool == false }.map(\.key))
        let others = Set(allKeys).subtracting(driver.keys).subtracting(["type"])
        #expect(refused == others, "\(name) \(driver.kind) refuses \(refused.sorted()), should refuse \(others.sorted())")
      }
    }
  }

  @Test func everyPropertyHasADescriptionAndObjectsAreClosed() throws {
    for name in ["project", "sync", "model"] {
      var problems: [String] = []
      walk(try schema(name), path: name, problems: &problems)
      #expect(problems.isEmpty, "\(problems)")
    }
  }

  private func walk(_ node: Any, path: String, problems: inout [String]) {
    if let list = node as? [Any] {
      for (index, item) in list.enumerated() { walk(item, path: "\(path)[\(index)]", problems: &problems) }
      return
    }
    guard let object = node as? [String: Any] else { return }
    if let properties = object["properties"] as? [String: Any] {
      if object["additionalProperties"] as? Bool != false { problems.append("\(path) allows additional properties") }
      for (key, value) in properties {
        if let property = value as? [String: Any], property["description"] == nil, property["$ref"] == nil {
          problems.append("\(path).\(key) has no description")
        }
      }
    }
    // Conditions (if/then/not/anyOf) only restate keys described where they are declared.
    for (key, value) in object where !["if", "then", "else", "not", "allOf", "anyOf"].contains(key) {
      walk(value, path: "\(path).\(key)", problems: &problems)
    }
  }

  @Test func exampleProjectsPassTheSchemas() throws {
    let root = ProjectFixture.repositoryRoot
    let result = try python([
      "scripts/check_schemas.py", root.path, root.appendingPathComponent("examples/postgres-http").path,
      root.appendingPathComponent("examples/rest").path,
    ])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("files valid"))
  }

  @Test func schemasRejectWhatTheValidatorRejects() throws {
    let files = [
      "syncs/unknown_key.yaml": DiagnosticCase.sync("mdoe: upsert"),
      "syncs/bad_mode.yaml": DiagnosticCase.sync("mode: upsertt"),
      "syncs/zero_batch.yaml": DiagnosticCase.sync("batch: { size: 0 }"),
      "syncs/two_origins.yaml": DiagnosticCase.sync("mappings:\n  - { from: a, value: b, to: c }"),
      "syncs/two_schedules.yaml": DiagnosticCase.sync("schedule: { every: 1h, cron: \"@daily\" }"),
      "syncs/bad_rate.yaml": DiagnosticCase.sync("batch: { rate: fast }"),
      "syncs/insert_delete.yaml": DiagnosticCase.sync("mode: insert\non_delete: delete", match: ""),
      "syncs/event_clear.yaml": DiagnosticCase.sync("type: event\non_delete: clear", match: ""),
      "syncs/slow_share.yaml": DiagnosticCase.sync("alerts:\n  - { when: slow, threshold: 5%, notify: [] }"),
      "syncs/failure_threshold.yaml": DiagnosticCase.sync("alerts:\n  - { when: failure, threshold: 5%, notify: [] }"),
      "syncs/runs_on_slow.yaml": DiagnosticCase.sync("alerts:\n  - { when: slow, threshold: 1m, runs: 2, notify: [] }"),
      "syncs/no_threshold.yaml": DiagnosticCase.sync("alerts:\n  - { when: rejected_rows, notify: [x] }"),
    ]
    try withTemporaryDirectory { directory in
      ProjectFixture.write(files, into: directory)
      let loaded = ProjectLoader(directory: directory, environment: [:]).load()
      let rejectedBySwift = Set(loaded.diagnostics.all.filter { $0.severity == .error }.map(\.location.file))
      #expect(rejectedBySwift == Set(files.keys))

      let result = try python(["scripts/check_schemas.py", directory.path])
      #expect(result.status == 1)
      for file in files.keys { #expect(result.output.contains(file), "schema accepted \(file): \(result.output)") }
      #expect(!result.output.contains("backflow.yaml:"), "the valid project file was rejected: \(result.output)")
    }
  }

  private func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    process.currentDirectoryURL = ProjectFixture.repositoryRoot
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
  }
}
