/// A place in a config file: 1-based line and column, as editors and `file:line:col` links count.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// The file as the user should see it: relative to the directory they named with `--project`.
  public var file: String
  public var line: Int
  public var column: Int

  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String { "\(file):\(line):\(column)" }

  public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
    (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
  }
}

/// One finding about the configuration, with where it is and what would be right.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
  public enum Severity: String, Sendable, Hashable, Codable {
    case error
    case warning
  }

  public var severity: Severity
  /// A single GNU-style line: lower-case, no trailing period, never a secret value.
  public var message: String
  public var location: SourceLocation
  /// Where the offending text ends on its line; equals `location` when unknown.
  public var end: SourceLocation

  public init(_ severity: Severity, _ message: String, at location: SourceLocation, end: SourceLocation? = nil) {
    self.severity = severity
    self.message = message
    self.location = location
    self.end = end ?? location
  }

  /// `file:line:col: error: message`, the form compilers use so editors and terminals link it.
  public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Collects every finding instead of stopping at the first, so one run shows all that is wrong.
public struct Diagnostics: Sendable {
  public private(set) var all: [Diagnostic] = []

  public init() {}

  public var hasErrors: Bool { all.contains { $0.severity == .error } }
  public var errorCount: Int { all.count { $0.severity == .error } }
  public var warningCount: Int { all.count { $0.severity == .warning } }

  /// Sorted by file, line and column, errors before warnings at the same place.
  public var sorted: [Diagnostic] {
    all.sorted { ($0.location, $0.severity == .error ? 0 : 1) < ($1.location, $1.severity == .error ? 0 : 1) }
  }

  public mutating func error(_ message: String, at location: SourceLocation, end: SourceLocation? = nil) {
    all.append(Diagnostic(.error, message, at: location, end: end))
  }

  public mutating func warning(_ message: String, at location: SourceLocation, end: SourceLocation? = nil) {
    all.append(Diagnostic(.warning, message, at: location, end: end))
  }

  public mutating func append(contentsOf other: Diagnostics) {
    all.append(contentsOf: other.all)
  }
}
