/// Where the state store lives: `sqlite:PATH`, a PostgreSQL URL or a libpq key=value string.
public enum StateLocation: Sendable, Equatable {
  /// A SQLite file, relative to the project directory unless absolute.
  case sqlite(path: String)
  /// A libpq connection string: a `postgres://` URI or `key=value` pairs, as sources take.
  case postgres(conninfo: String)

  /// What a state location may be, for messages.
  public static let expected = "sqlite:PATH, a postgres:// URL or a libpq key=value string (host=… dbname=…)"

  /// What `text`, refused, should have been, for messages; it never repeats `text`, which may
  /// be a secret.
  public static func requirement(for text: String) -> String {
    // `sqlite://state.db` would be the file /state.db: a URL habit, refused rather than guessed.
    text.hasPrefix("sqlite://")
      ? "must be sqlite:PATH without //: sqlite:state.db is relative to backflow.yaml, sqlite:/var/lib/backflow/state.db absolute"
      : "must be \(expected)"
  }

  public init?(_ text: String) {
    if text.hasPrefix("sqlite://") {
      return nil
    } else if text.hasPrefix("sqlite:") {
      let path = String(text.dropFirst("sqlite:".count))
      guard !path.isEmpty else { return nil }
      self = .sqlite(path: path)
    } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") || Self.isKeyValue(text) {
      self = .postgres(conninfo: text)
    } else {
      return nil
    }
  }

  /// Whether `text` is a libpq key=value string: one or more `keyword=value` pairs, a value
  /// bare or single-quoted. libpq itself checks the keywords when it connects.
  private static func isKeyValue(_ text: String) -> Bool {
    text.wholeMatch(of: /\s*(?:[A-Za-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']+)\s*)+/) != nil
  }
}
