import Foundation
import Yams

/// backflow.yaml's `dbt:` block and the manifest it names, as model files that say `dbt: NAME` read them.
struct DBTContext {
  var settings: DBTSettings
  /// `nil` when it could not be read; that is reported once, at `dbt.manifest`.
  var manifest: DBTManifest?
  /// The manifest's path as messages show it.
  var shownManifest: String

  /// Reads the manifest that `settings` names, reporting a missing, stale, unreadable or
  /// unsupported one at `dbt.manifest` (or `dbt:` when the default is used).
  init(_ settings: DBTSettings, directory: URL, displayPrefix: String, diagnostics: inout Diagnostics) {
    self.settings = settings
    let project = directory.resolvingProjectPath(settings.project.value)
    let url = project.resolvingProjectPath(settings.manifest.value)
    let shownProject = settings.project.value.hasPrefix("/") ? settings.project.value : displayPrefix + settings.project.value
    shownManifest = settings.manifest.value.hasPrefix("/")
      ? settings.manifest.value : (shownProject as NSString).appendingPathComponent(settings.manifest.value)
    let rebuild = "run `dbt build` (or `dbt parse`) in \(shownProject)"
    do {
      let manifest = try DBTManifest.load(from: url, shown: shownManifest)
      if let written = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
        let newer = manifest.newerModelFile(than: written, in: project)
      {
        diagnostics.error(
          "the dbt manifest \(shownManifest) is stale: \((shownProject as NSString).appendingPathComponent(newer)) "
            + "changed after it was written; \(rebuild) again", at: settings.manifest.location)
        return
      }
      self.manifest = manifest
    } catch {
      let hint = FileManager.default.fileExists(atPath: url.path) ? "" : "; \(rebuild) first, which writes it"
      diagnostics.error(error.message + hint, at: settings.manifest.location)
    }
  }
}

extension NodeReader {
  /// backflow.yaml's `dbt:`.
  func dbtSettings(_ node: Node) -> DBTSettings? {
    guard let fields = fields(node, path: "dbt", allowed: ConfigKeys.dbt, required: ["project", "source"]) else { return nil }
    let project = fields["project"].flatMap { nonEmptyString($0, path: "dbt.project") }
    let source = fields["source"].flatMap { nonEmptyString($0, path: "dbt.source", fromEnvironment: false) }
    var manifest: Located<String>? = Located(DBTSettings.defaultManifest, at: fields.location)
    if let node = fields["manifest"] { manifest = nonEmptyString(node, path: "dbt.manifest") }
    guard let project, let source, let manifest else { return nil }
    return DBTSettings(project: project, manifest: manifest, source: source)
  }

  /// A model file's `dbt: NAME`: the relation dbt built for it, its source and its primary key.
  func dbtModel(_ node: Node, fields: Fields, source: Located<String>?, primaryKey: Located<String>?)
    -> (relation: Model.Relation, source: Located<String>, primaryKey: Located<String>)?
  {
    guard let name = nonEmptyString(node, path: fields.path("dbt"), fromEnvironment: false) else { return nil }
    guard let dbt else {
      error(
        "\(fields.path("dbt")): \(name.quotedForMessage) needs the dbt project declared in backflow.yaml, "
          + "e.g. dbt: { project: ../analytics, source: warehouse }", at: node)
      return nil
    }
    guard let manifest = dbt.manifest else { return nil }
    guard let model = manifest.model(named: name.value) else {
      let hint = Suggestion.hint(for: name.value, in: manifest.modelNames)
      error("dbt model \(name.quotedForMessage) is not in the manifest \(dbt.shownManifest)\(hint)", at: node)
      return nil
    }
    guard model.materialized != "ephemeral" else {
      error("dbt model \(name.quotedForMessage) is ephemeral: dbt builds no relation for it to read", at: node)
      return nil
    }
    var key = primaryKey
    if key == nil {
      do {
        key = try manifest.primaryKey(of: model).map { Located($0, at: name.location) }
      } catch {
        self.error(error.message, at: node)
        return nil
      }
    }
    guard let key else {
      error(
        "dbt model \(name.quotedForMessage) has no primary key in the manifest: set primary_key: here, or give the "
          + "model a primary_key constraint, meta.primary_key, or a column with both unique and not_null tests",
        at: node)
      return nil
    }
    let relation = DBTRelation(model: name, database: model.database, schema: model.schema, alias: model.alias)
    return (.dbt(relation), source ?? dbt.settings.source, key)
  }
}
