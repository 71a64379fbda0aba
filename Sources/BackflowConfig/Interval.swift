import Foundation

/// A length of time written as `30s`, `15m`, `1h30m` or `1d`.
public struct Interval: Sendable, Hashable, Encodable, CustomStringConvertible {
  public var seconds: Int
  /// As written, so that canonical config keeps the user's spelling.
  public var description: String

  /// Parses one or more `<whole number><s|m|h|d>` parts; nil for anything else or a zero total.
  public init?(_ text: String) {
    let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    var total = 0
    var digits = ""
    for character in text {
      if character.isASCII, character.isNumber {
        digits.append(character)
      } else if let unit = units[character], let count = Int(digits) {
        let (product, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        total += product
        digits = ""
      } else {
        return nil
      }
    }
    guard digits.isEmpty, total > 0 else { return nil }
    seconds = total
    description = text
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// A request rate written as `20/s`, `100/m` or `1000/h`.
public struct Rate: Sendable, Hashable, Encodable, CustomStringConvertible {
  public var perSecond: Double
  public var description: String

  public init?(_ text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    let per: [String: Double] = ["s": 1, "m": 60, "h": 3600]
    guard parts.count == 2, let count = Double(parts[0].trimmingCharacters(in: .whitespaces)),
      count.isFinite, count > 0
    else { return nil }
    // `100/10s`: a window of several units, as APIs document their limits.
    let window = parts[1].trimmingCharacters(in: .whitespaces)
    let digits = window.prefix { $0.isNumber }
    guard let seconds = per[String(window.dropFirst(digits.count))],
      let units = digits.isEmpty ? 1 : Double(digits), units > 0
    else { return nil }
    perSecond = count / (seconds * units)
    description = text
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

extension Duration {
  /// The duration in seconds, fractions included, as Foundation's `TimeInterval` counts them.
  public var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
