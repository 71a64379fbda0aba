/// Where the state store lives, as `state:` in backflow.yaml or `--state` says.
public enum StateLocation: Sendable, Equatable {
  /// A SQLite file, relative to the project directory unless absolute.
  case sqlite(path: String)
  /// A libpq connection URI.
  case postgres(url: String)

  public init?(_ text: String) {
    if text.hasPrefix("sqlite:") {
      let path = String(text.dropFirst("sqlite:".count))
      guard !path.isEmpty else { return nil }
      self = .sqlite(path: path)
    } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
      self = .postgres(url: text)
    } else {
      return nil
    }
  }
}
