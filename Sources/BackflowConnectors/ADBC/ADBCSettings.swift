import BackflowADBC
import BackflowConfig
import Foundation

/// An ADBC source: `driver` (a driver's name, found as ADBCDriverLocator says, or a path to its
/// shared library), `options` (the driver's own database options, as strings) and `dialect` (the
/// engine's SQL; implied by a driver's name, required with a path) and `planning` (the schema
/// where warehouse planning keeps each sync's snapshot).
struct ADBCSettings: ConnectorSettings {
  static let keys = ["driver", "options", "dialect", "planning"]
  /// The dialects whose warehouse can hold the snapshots and run the diff.
  static let planningDialects: [ADBCDialect] = [.postgres, .spark]

  var driver: Located<String>
  var options: [(name: Located<String>, value: Located<String>)]
  var dialect: Located<ADBCDialect>
  /// `query_timeout:` (the source driver's keys).
  var queryTimeout: Located<Interval>?
  var planning: Located<String>?

  init?(_ fields: DriverFields) {
    guard let driver = fields.string("driver") else { return nil }
    let options = fields.namedStrings("options")
    let implied = Self.isPath(driver.value) ? nil : ADBCDialect(driverName: driver.value)
    if fields.has("dialect") {
      guard let dialect = fields.choice("dialect", as: ADBCDialect.self) else { return nil }
      self.dialect = dialect
    } else if let implied {
      dialect = driver.map { _ in implied }
    } else {
      let allowed = ADBCDialect.allCases.map(\.rawValue).joined(separator: ", ")
      fields.invalid(
        "driver", driver,
        "the engine behind this driver cannot be told from its name; add dialect: (one of \(allowed))")
      return nil
    }
    self.driver = driver
    self.options = options
    queryTimeout = fields.queryTimeout
    if fields.has("planning") {
      guard let planning = fields.nested("planning", allowed: ConfigKeys.planning, required: ["schema"])?.string("schema")
      else { return nil }
      guard Self.planningDialects.contains(dialect.value) else {
        fields.error(
          "warehouse planning is built for the \(Self.planningDialects.map(\.rawValue).joined(separator: " and ")) dialects only, "
            + "not \(dialect.value.rawValue) yet; remove planning: to diff in Backflow", at: "planning")
        return nil
      }
      self.planning = planning
    }
  }

  /// A path names the library itself; anything else is a driver's name.
  static func isPath(_ driver: String) -> Bool { driver.contains("/") || driver.hasSuffix(".so") }

  /// Values from the environment, values of options whose name says password, token or key, and
  /// passwords written in URIs.
  var secrets: [String] {
    var secrets = driver.isSecret ? [driver.value] : []
    for option in options {
      if option.value.isSecret || Self.namesSecret(option.name.value) {
        secrets.append(option.value.value)
      } else if let password = Self.uriPassword(option.value.value) {
        secrets.append(password)
      }
    }
    return secrets.filter { !$0.isEmpty }
  }

  var address: SourceLocation? { driver.location }

  /// `text` with every secret of these settings masked, and any URL password or password, token
  /// or key parameter too: what a driver's message passes through before it is shown.
  var redact: @Sendable (String) -> String {
    let secrets = secrets.sorted { $0.count > $1.count }
    return { text in
      Redaction.redact(secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") })
    }
  }

  private static func namesSecret(_ name: String) -> Bool {
    let lowered = name.lowercased()
    return ["password", "token", "secret", "key", "credential"].contains { lowered.contains($0) }
  }

  /// The password of `scheme://user:password@host…`.
  private static func uriPassword(_ text: String) -> String? {
    guard let scheme = text.range(of: "://") else { return nil }
    let rest = text[scheme.upperBound...]
    guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return nil }
    return String(rest[rest.index(after: colon)..<at])
  }

  /// Opens the driver's database with the options: a relative driver path resolves against the
  /// project `directory`.
  func database(in directory: URL, locator: ADBCDriverLocator = ADBCDriverLocator()) throws -> ADBCDatabase {
    let found =
      Self.isPath(driver.value)
      ? ADBCDriverLocator.Found(path: directory.resolvingProjectPath(driver.value).path)
      : try locator.locate(driver.value)
    let driver = try ADBCDriver.load(path: found.path, entryPoint: found.entryPoint)
    return try ADBCDatabase(
      driver: driver, options: options.map { ($0.name.value, $0.value.value) }, redact: redact)
  }

  /// Stored and compared with secrets as written (`${NAME}`) and URL passwords masked.
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: DynamicKey.self)
    try container.encode(driver, forKey: DynamicKey("driver"))
    try container.encode(dialect.value.rawValue, forKey: DynamicKey("dialect"))
    try container.encodeIfPresent(queryTimeout, forKey: DynamicKey(DriverFields.queryTimeoutKey))
    if let planning {
      var nested = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("planning"))
      try nested.encode(planning, forKey: DynamicKey("schema"))
    }
    var nested = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("options"))
    for option in options {
      let key = DynamicKey(option.name.value)
      if option.value.isSecret {
        try nested.encode(option.value, forKey: key)
      } else if Self.namesSecret(option.name.value) {
        try nested.encode("***", forKey: key)
      } else {
        try nested.encode(Redaction.redact(option.value.value), forKey: key)
      }
    }
  }

  private struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
}
