/// The JSON Schemas from `schemas/`, compiled into the binary so `backflow init` can write them.
enum Schemas {
  static let all: [(name: String, contents: String)] = [
    ("project.schema.json", String(decoding: PackageResources.project_schema_json, as: UTF8.self)),
    ("sync.schema.json", String(decoding: PackageResources.sync_schema_json, as: UTF8.self)),
    ("model.schema.json", String(decoding: PackageResources.model_schema_json, as: UTF8.self)),
  ]
}
