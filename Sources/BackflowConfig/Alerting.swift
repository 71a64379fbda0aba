/// Where alerts are sent: an entry under `notifications:` in backflow.yaml.
///
/// Every address it holds (a webhook URL, a signing secret, an SMTP URL) is treated as a secret,
/// written in the file or not: none of them is ever printed, logged or stored in state.
public struct NotificationChannel: Sendable, Encodable {
  public enum Kind: String, Sendable, Encodable, CaseIterable {
    /// A Slack incoming webhook: JSON with `text`.
    case slack
    /// Any HTTP endpoint: the alert as JSON, signed with `X-Backflow-Signature`.
    case webhook
    /// Mail over SMTP.
    case email
  }

  public var name: Located<String>
  public var type: Located<Kind>
  /// slack: `webhook:`; webhook: `url:`.
  public var url: Located<String>?
  /// webhook: the HMAC-SHA256 key of `X-Backflow-Signature`.
  public var secret: Located<String>?
  /// email: `smtp://user:password@host:port` or `smtps://…`.
  public var smtp: Located<String>?
  public var from: Located<String>?
  public var to: [Located<String>]

  public init(
    name: Located<String>, type: Located<Kind>, url: Located<String>? = nil, secret: Located<String>? = nil,
    smtp: Located<String>? = nil, from: Located<String>? = nil, to: [Located<String>] = []
  ) {
    self.name = name
    self.type = type
    self.url = url
    self.secret = secret
    self.smtp = smtp
    self.from = from
    self.to = to
  }

  /// Only the name and type: addresses are never serialised, even as the text written.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .name)
    try container.encode(type, forKey: .type)
  }

  private enum Key: String, CodingKey {
    case name
    case type
  }
}

/// One entry of `alerts:`: a condition checked after every run of a sync, and who hears of it.
public struct AlertRule: Sendable, Encodable {
  public enum Condition: String, Sendable, Encodable, CaseIterable {
    /// The run stopped with a sync-level error.
    case failure
    /// Failed rows over attempted rows, above `threshold` (a percentage).
    case rejectedRows = "rejected_rows"
    /// Rows queried below (100% - threshold) of the mean of the last `runs` completed runs.
    case volumeDrop = "volume_drop"
    /// The run took longer than `threshold` (a duration).
    case slow
  }

  /// How many earlier completed runs `volume_drop` compares with when `runs:` is not given.
  public static let defaultRuns = 5

  public var when: Located<Condition>
  public var threshold: Located<AlertThreshold>?
  /// volume_drop: how many earlier completed runs make the mean.
  public var runs: Located<Int>?
  /// Channel names; empty switches the alert off (a sync's `notify: []`).
  public var notify: [Located<String>]
  /// Whether closing sends a recovery notice.
  public var recovery: Located<Bool>

  public init(
    when: Located<Condition>, threshold: Located<AlertThreshold>? = nil, runs: Located<Int>? = nil,
    notify: [Located<String>], recovery: Located<Bool>
  ) {
    self.when = when
    self.threshold = threshold
    self.runs = runs
    self.notify = notify
    self.recovery = recovery
  }

  /// `runs:`, or its default.
  public var runCount: Int { runs?.value ?? Self.defaultRuns }
}

/// An alert's threshold: a share (`5%`) or a duration (`10m`).
public enum AlertThreshold: Sendable, Hashable, Encodable, CustomStringConvertible {
  case percent(Double)
  case duration(Interval)

  /// `5%`, `12.5%`: digits, an optional decimal part and `%`, nothing else (no spaces or signs).
  public static func percent(parsing text: String) -> Double? {
    guard text.hasSuffix("%") else { return nil }
    let number = text.dropLast()
    let parts = number.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count),
      parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
    else { return nil }
    return Double(number)
  }

  public var description: String {
    switch self {
    case let .percent(share): Self.format(percent: share)
    case let .duration(interval): interval.description
    }
  }

  /// `5%`, `12.5%`: whole numbers without a decimal point, others with up to two decimals.
  public static func format(percent: Double) -> String {
    if percent.rounded() == percent { return "\(Int(percent))%" }
    var text = String(format: "%.2f", percent)
    while text.hasSuffix("0") { text.removeLast() }
    return text + "%"
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

extension Project {
  /// The alerts that apply to `sync`: the project's, with each of the sync's own entries in place
  /// of the one with the same `when` (or added), leaving out those that notify nobody.
  public func alertRules(for sync: Sync) -> [AlertRule] {
    var rules = alerts
    for rule in sync.alerts {
      if let index = rules.firstIndex(where: { $0.when.value == rule.when.value }) {
        rules[index] = rule
      } else {
        rules.append(rule)
      }
    }
    return rules.filter { !$0.notify.isEmpty }
  }

  /// The channel declared as `name`.
  public func notificationChannel(named name: String) -> NotificationChannel? {
    notifications.first { $0.name.value == name }
  }
}
