import BackflowConfig
import BackflowDestinations

/// A file destination: CSV or JSON Lines files under `dir`, relative to the project directory.
struct FileSettings: ConnectorSettings {
  static let keys = ["dir", "format"]

  var dir: Located<String>
  var format: Located<FileFormat>?

  init?(_ fields: DriverFields) {
    let dir = fields.string("dir")
    format = fields.choice("format")
    guard let dir else { return nil }
    self.dir = dir
  }

  var secrets: [String] { dir.isSecret ? [dir.value] : [] }
  var address: SourceLocation? { dir.location }
}
