import BackflowConfig
import BackflowMySQL

/// A MySQL or MariaDB source or destination: `url`, `mysql://USER:PASSWORD@HOST:PORT/DATABASE`.
struct MySQLSettings: ConnectorSettings {
  static let keys = ["url"]

  var url: Located<String>
  /// `query_timeout:`, on a source only (the source driver's keys).
  var queryTimeout: Located<Interval>?

  init?(_ fields: DriverFields) {
    guard let url = fields.string("url") else { return nil }
    queryTimeout = fields.queryTimeout
    // Messages show the URL with its password masked.
    let shown = url.map(Redaction.redact)
    guard url.value.hasPrefix("mysql://") || url.value.hasPrefix("mariadb://") else {
      fields.invalid("url", shown, "must be a mysql://USER:PASSWORD@HOST:PORT/DATABASE URL")
      return nil
    }
    do {
      _ = try MySQLConfiguration(url: url.value)
    } catch {
      fields.invalid("url", shown, (error as? MySQLError)?.message ?? "\(error)")
      return nil
    }
    self.url = url
  }

  /// A URL from the environment, and a password written in the file.
  var secrets: [String] {
    var secrets = url.isSecret ? [url.value] : []
    if let password = (try? MySQLConfiguration(url: url.value))?.password, !password.isEmpty {
      secrets.append(password)
    }
    return secrets
  }

  var address: SourceLocation? { url.location }

  private enum CodingKeys: String, CodingKey {
    case url
    case queryTimeout = "query_timeout"
  }

  /// Connects; the error names what went wrong, never the URL.
  func connect() throws -> MySQLConnection {
    try MySQLConnection(url: url.value)
  }
}
