import Foundation

/// A project as read from disk: whatever decoded cleanly, and every diagnostic found on the way.
public struct LoadedProject: Sendable {
  public var project: Project
  public var diagnostics: Diagnostics
  /// Every file read, as shown to the user, in the order read.
  public var files: [String]
}

/// Reads `backflow.yaml` and `syncs/**/*.yaml` into a typed `Project`, validating as it goes.
///
/// Loading is pure: it reads files and the environment, and opens no connection.
public struct ProjectLoader: Sendable {
  public static let projectFile = "backflow.yaml"
  public static let syncsDirectory = "syncs"
  public static let modelsDirectory = "syncs/models"

  public var directory: URL
  /// Put in front of every file path shown, so paths are clickable from where the user stands.
  public var displayPrefix: String
  public var environment: [String: String]
  /// The kinds of sources and destinations (the connectors' registry).
  public var drivers: DriverCatalog

  /// - Parameter displayPath: the project directory as the user wrote it (`--project`), or "." for here.
  public init(
    directory: URL, displayPath: String = ".", environment: [String: String] = ProcessInfo.processInfo.environment,
    drivers: DriverCatalog
  ) {
    self.directory = directory.standardizedFileURL
    let trimmed = displayPath.hasSuffix("/") ? String(displayPath.dropLast()) : displayPath
    displayPrefix = trimmed.isEmpty || trimmed == "." ? "" : trimmed + "/"
    self.environment = environment
    self.drivers = drivers
  }

  public func load() -> LoadedProject {
    var diagnostics = Diagnostics()
    let headerReader = reader(for: Self.projectFile)
    var header = headerReader.defaultHeader
    var headerIsReadable = false
    if let text = read(Self.projectFile, &diagnostics, missing: "no \(Self.projectFile) in this directory; run `backflow init` to create a project, or pass --project DIR") {
      let file = YAMLFile(text: text, displayPath: headerReader.file, diagnostics: &diagnostics)
      if !file.isMalformed {
        header = headerReader.projectHeader(file.root)
        headerIsReadable = true
      }
    }
    diagnostics.append(contentsOf: headerReader.diagnostics)
    let dbt = header.dbt.map {
      DBTContext($0, directory: directory, displayPrefix: displayPrefix, diagnostics: &diagnostics)
    }

    var models: [Model] = []
    var modelNames: [Located<String>] = []
    var syncs: [Sync] = []
    var references: [SyncReferences] = []
    let syncFiles = yamlFiles()
    for relativePath in syncFiles {
      let reader = reader(for: relativePath)
      reader.dbt = dbt
      guard let text = read(relativePath, &diagnostics, missing: "cannot read file") else { continue }
      let file = YAMLFile(text: text, displayPath: reader.file, diagnostics: &diagnostics)
      let root = file.root
      let stem = (relativePath as NSString).lastPathComponent.split(separator: ".").dropLast().joined(separator: ".")
      if relativePath.hasPrefix(Self.modelsDirectory + "/") {
        let name = Located(stem, at: reader.fileStart)
        if reader.checkName(name, kind: "model", hint: "; the file's name is the model's name, so rename the file") {
          modelNames.append(name)
          if !file.isMalformed, let model = reader.model(root, name: name, path: "") { models.append(model) }
        }
      } else {
        let name = reader.syncName(root, stem: stem)
        let isFromStem = name.location == reader.fileStart
        if reader.checkName(name, kind: "sync", hint: isFromStem ? "; rename the file or give the sync a name: key" : "") {
          if file.isMalformed {
            references.append(SyncReferences(name: name, isUnreadable: true))
          } else {
            let (sync, syncReferences) = reader.sync(root, name: name)
            references.append(syncReferences)
            if let sync { syncs.append(sync) }
          }
        }
      }
      diagnostics.append(contentsOf: reader.diagnostics)
    }

    var project = Project(
      version: header.version, state: header.state, sources: header.sources,
      destinations: header.destinations, syncLogs: header.syncLogs, errorCategories: header.errorCategories,
      models: models, syncs: syncs)
    project.notifications = header.notifications
    project.alerts = header.alerts
    project.dbt = header.dbt
    var validator = ProjectValidator(
      project: project, sourceNames: header.sourceNames, destinationNames: header.destinationNames,
      modelNames: modelNames, syncs: references, checksConnections: headerIsReadable)
    validator.notificationNames = header.notificationNames
    validator.run()
    diagnostics.append(contentsOf: validator.diagnostics)
    let files = ([Self.projectFile] + syncFiles).map { displayPrefix + $0 }
    return LoadedProject(project: project, diagnostics: diagnostics, files: files)
  }

  private func reader(for relativePath: String) -> NodeReader {
    NodeReader(file: displayPrefix + relativePath, environment: environment, drivers: drivers)
  }

  private func read(_ relativePath: String, _ diagnostics: inout Diagnostics, missing: String) -> String? {
    let url = directory.appendingPathComponent(relativePath)
    let at = SourceLocation(file: displayPrefix + relativePath, line: 1, column: 1)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      diagnostics.error(missing, at: at)
      return nil
    }
    guard let text = String(data: data, encoding: .utf8) else {
      diagnostics.error("file is not UTF-8 text", at: at)
      return nil
    }
    return text
  }

  /// Every file `load()` reads, relative to the project directory (`backflow.yaml` first, even when
  /// it is missing): what `backflow daemon` watches for changes.
  /// The dbt manifest that backflow.yaml names is one of them, so a new `dbt build` reloads too.
  public func projectFiles() -> [String] {
    [Self.projectFile] + yamlFiles() + (dbtManifest().map { [$0] } ?? [])
  }

  /// The manifest backflow.yaml's `dbt:` names, relative to the project directory.
  private func dbtManifest() -> String? {
    var diagnostics = Diagnostics()
    let reader = reader(for: Self.projectFile)
    guard let text = read(Self.projectFile, &diagnostics, missing: "") else { return nil }
    let file = YAMLFile(text: text, displayPath: reader.file, diagnostics: &diagnostics)
    guard !file.isMalformed, let dbt = reader.projectHeader(file.root).dbt else { return nil }
    return (dbt.project.value as NSString).appendingPathComponent(dbt.manifest.value)
  }

  /// Every `.yaml` and `.yml` file under `syncs/`, sorted, relative to the project directory.
  private func yamlFiles() -> [String] {
    let root = directory.appendingPathComponent(Self.syncsDirectory)
    guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
    else { return [] }
    var paths: [String] = []
    for case let url as URL in enumerator {
      let name = url.lastPathComponent
      guard name.hasSuffix(".yaml") || name.hasSuffix(".yml"), !name.hasPrefix("."),
        (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
      else { continue }
      let full = url.standardizedFileURL.path
      let base = root.standardizedFileURL.path
      guard full.hasPrefix(base + "/") else { continue }
      paths.append(Self.syncsDirectory + "/" + full.dropFirst(base.count + 1))
    }
    return paths.sorted()
  }
}
