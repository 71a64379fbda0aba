import BackflowConfig

/// A PostgreSQL source or destination: `url`, a libpq URI or key=value string (PG* variables,
/// .pgpass and sslmode apply as in psql).
struct PostgresSettings: ConnectorSettings {
  static let keys = ["url"]

  var url: Located<String>
  /// `query_timeout:`, on a source only (the source driver's keys).
  var queryTimeout: Located<Interval>?

  init?(_ fields: DriverFields) {
    guard let url = fields.string("url") else { return nil }
    self.url = url
    queryTimeout = fields.queryTimeout
  }

  private enum CodingKeys: String, CodingKey {
    case url
    case queryTimeout = "query_timeout"
  }

  var secrets: [String] { url.isSecret ? [url.value] : [] }
  var address: SourceLocation? { url.location }
}
