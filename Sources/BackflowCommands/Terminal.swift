import Foundation

/// Where command output goes, and whether it may be coloured.
///
/// Colour only at a terminal, never with `--no-color` or `NO_COLOR` set (no-color.org).
public struct Terminal: Sendable {
  public var colors: Bool

  public init(colors: Bool) {
    self.colors = colors
  }

  public init(options: GlobalOptions, environment: [String: String] = ProcessInfo.processInfo.environment) {
    colors =
      !options.noColor && environment["NO_COLOR"].map(\.isEmpty) ?? true
      && isatty(STDOUT_FILENO) == 1 && environment["TERM"] != "dumb"
  }

  public enum Style: String, Sendable {
    case bold = "1"
    case red = "1;31"
    case green = "32"
    case yellow = "1;33"
    case dim = "2"
  }

  public func paint(_ text: String, _ style: Style) -> String {
    colors ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
  }
}
