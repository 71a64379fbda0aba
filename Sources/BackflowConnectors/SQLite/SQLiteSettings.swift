import BackflowConfig
import Foundation

/// A SQLite source or destination: `path`, the database file, relative to the project directory.
struct SQLiteSettings: ConnectorSettings {
  static let keys = ["path"]

  var path: Located<String>
  /// `query_timeout:`, on a source only (the source driver's keys).
  var queryTimeout: Located<Interval>?

  init?(_ fields: DriverFields) {
    guard let path = fields.string("path") else { return nil }
    self.path = path
    queryTimeout = fields.queryTimeout
  }

  private enum CodingKeys: String, CodingKey {
    case path
    case queryTimeout = "query_timeout"
  }

  var secrets: [String] { path.isSecret ? [path.value] : [] }
  var address: SourceLocation? { path.location }

  /// The file, which must exist: a missing file is a mistaken path, not a database to create.
  func existingFile(in directory: URL) throws -> String {
    let url = directory.resolvingProjectPath(path.value)
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw ConnectorError("the SQLite database \(path.isSecret ? "file" : path.value) does not exist")
    }
    return url.path
  }
}
