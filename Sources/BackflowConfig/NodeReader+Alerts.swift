import Foundation
import Yams

/// `notifications:` and `alerts:` (docs/alerts.md).
extension NodeReader {
  /// Reads `notifications:` and `alerts:` of backflow.yaml into `header`.
  func readAlerting(_ fields: Fields, into header: inout ProjectHeader) {
    header.notifications = declared(
      fields, "notifications", kind: "notification", names: &header.notificationNames, notificationChannel)
    if let node = fields["alerts"] {
      header.alerts = alertRules(node)
    }
  }

  private func notificationChannel(_ name: Located<String>, _ node: Node) -> NotificationChannel? {
    let path = "notifications.\(name.value)"
    guard
      let fields = fields(
        node, path: path, subject: "notification \"\(name.value)\"", allowed: ConfigKeys.notification, required: ["type"]),
      let typeNode = fields["type"], let type = choice(typeNode, path: fields.path("type"), as: NotificationChannel.Kind.self)
    else { return nil }
    let keys: [String] =
      switch type.value {
      case .slack: ["webhook"]
      case .webhook: ["url", "secret"]
      case .email: ["smtp", "from", "to"]
      }
    guard checkKeys(fields, typeName: type.value.rawValue, kind: "notification", allowed: keys, required: keys)
    else { return nil }
    var channel = NotificationChannel(name: name, type: type)
    var ok = true
    for key in ["webhook", "url"] {
      guard let node = fields[key] else { continue }
      channel.url = httpURL(node, path: fields.path(key))
      ok = ok && channel.url != nil
    }
    if let node = fields["secret"] {
      channel.secret = nonEmptyString(node, path: fields.path("secret"))
      ok = ok && channel.secret != nil
    }
    if let node = fields["smtp"] {
      channel.smtp = smtpURL(node, path: fields.path("smtp"))
      ok = ok && channel.smtp != nil
    }
    if let node = fields["from"] {
      channel.from = mailAddress(node, path: fields.path("from"))
      ok = ok && channel.from != nil
    }
    if let node = fields["to"] {
      let items = node.sequence.map(Array.init) ?? [node]
      if items.isEmpty { error("\(fields.path("to")) must name at least one address", at: node) }
      channel.to = items.enumerated().compactMap { index, item in
        mailAddress(item, path: node.sequence == nil ? fields.path("to") : fields.path("to[\(index)]"))
      }
      ok = ok && !items.isEmpty && channel.to.count == items.count
    }
    return ok ? channel : nil
  }

  /// An `http://` or `https://` URL with a host; a secret is judged without being shown.
  private func httpURL(_ node: Node, path: String) -> Located<String>? {
    guard let text = nonEmptyString(node, path: path) else { return nil }
    guard let components = URLComponents(string: text.value), ["http", "https"].contains(components.scheme ?? ""),
      components.host?.isEmpty == false
    else {
      error("\(path) must be an http:// or https:// URL\(text.isSecret ? " (the value read from the environment is not)" : "")", at: node)
      return nil
    }
    return text
  }

  /// `smtp://[user:password@]host[:port]` or `smtps://…`, nothing after the host but a `/`.
  private func smtpURL(_ node: Node, path: String) -> Located<String>? {
    guard let text = nonEmptyString(node, path: path) else { return nil }
    let hidden = text.isSecret ? " (the value read from the environment is not)" : ""
    guard SMTPAddress(text.value) != nil else {
      error("\(path) must be smtp://user:password@host:port (STARTTLS when offered) or smtps://… (TLS)\(hidden)", at: node)
      return nil
    }
    return text
  }

  private func mailAddress(_ node: Node, path: String) -> Located<String>? {
    guard let text = nonEmptyString(node, path: path) else { return nil }
    let parts = text.value.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
      !text.value.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
    else {
      invalid(text, at: node, path, "must be one mail address like data@example.com")
      return nil
    }
    return text
  }

  /// A list of alert entries: in backflow.yaml, or a sync's own.
  func alertRules(_ node: Node) -> [AlertRule] {
    if isNull(node) { return [] }
    guard let items = list(node, path: "alerts") else { return [] }
    var rules: [AlertRule] = []
    var seen: [AlertRule.Condition: SourceLocation] = [:]
    for (index, item) in items.enumerated() {
      guard let rule = alertRule(item, path: "alerts[\(index)]") else { continue }
      if let first = seen[rule.when.value] {
        error(
          "alerts[\(index)]: when \(rule.when.value.rawValue) is already set at line \(first.line); one entry per when",
          at: rule.when.location)
        continue
      }
      seen[rule.when.value] = rule.when.location
      rules.append(rule)
    }
    return rules
  }

  private func alertRule(_ node: Node, path: String) -> AlertRule? {
    guard let fields = fields(node, path: path, allowed: ConfigKeys.alert, required: ["when", "notify"]),
      let whenNode = fields["when"], let when = choice(whenNode, path: fields.path("when"), as: AlertRule.Condition.self)
    else { return nil }
    var ok = true
    var threshold: Located<AlertThreshold>?
    switch (when.value, fields["threshold"]) {
    case (.failure, let node?):
      error("\(fields.path("threshold")): failure alerts have no threshold; remove it", at: node)
      ok = false
    case (.failure, nil):
      break
    case let (_, node?):
      threshold = alertThreshold(node, condition: when.value, path: fields.path("threshold"))
      ok = threshold != nil
    case (_, nil):
      // `notify: []` only switches the alert off: it needs no threshold.
      if fields["notify"]?.sequence?.isEmpty == true { break }
      let example = when.value == .slow ? "10m" : when.value == .volumeDrop ? "50%" : "5%"
      error("\(path): \(when.value.rawValue) alerts need a threshold, e.g. threshold: \(example)", at: fields.location)
      ok = false
    }
    var runs: Located<Int>?
    if let node = fields["runs"] {
      if when.value == .volumeDrop {
        runs = integer(node, path: fields.path("runs"), minimum: 1)
        ok = ok && runs != nil
      } else {
        error("\(fields.path("runs")) is only used by volume_drop alerts; remove it", at: node)
        ok = false
      }
    }
    var notify: [Located<String>] = []
    if let node = fields["notify"] {
      if isNull(node) {
        error("\(fields.path("notify")) must list channel names; notify: [] switches this alert off", at: node)
        ok = false
      } else if let items = list(node, path: fields.path("notify")) {
        for (index, item) in items.enumerated() {
          if let name = nonEmptyString(item, path: fields.path("notify[\(index)]"), fromEnvironment: false) {
            notify.append(name)
          } else {
            ok = false
          }
        }
      } else {
        ok = false
      }
    }
    var recovery = Located(true, at: fields.location)
    if let node = fields["recovery"] {
      if let value = boolean(node, path: fields.path("recovery")) { recovery = value } else { ok = false }
    }
    guard ok else { return nil }
    return AlertRule(when: when, threshold: threshold, runs: runs, notify: notify, recovery: recovery)
  }

  /// `5%` for rejected_rows and volume_drop, `10m` for slow; nothing looser.
  private func alertThreshold(_ node: Node, condition: AlertRule.Condition, path: String) -> Located<AlertThreshold>? {
    guard let text = string(node, path: path, fromEnvironment: false) else { return nil }
    switch condition {
    case .failure:
      return nil
    case .slow:
      guard let interval = Interval(text.value) else {
        invalid(text, at: node, path, "slow alerts take a duration like 10m, 1h30m or 90s")
        return nil
      }
      return text.map { _ in .duration(interval) }
    case .rejectedRows, .volumeDrop:
      let range = condition == .rejectedRows ? "0% up to but not including 100%" : "more than 0% and less than 100%"
      guard let share = AlertThreshold.percent(parsing: text.value),
        condition == .rejectedRows ? share < 100 : (share > 0 && share < 100)
      else {
        invalid(text, at: node, path, "\(condition.rawValue) alerts take a percentage like 5% or 12.5%, from \(range)")
        return nil
      }
      return text.map { _ in .percent(share) }
    }
  }
}

/// The parts of an `smtp://` or `smtps://` URL.
public struct SMTPAddress: Sendable, Equatable {
  public var implicitTLS: Bool
  public var host: String
  public var port: Int
  public var user: String?
  public var password: String?

  public init?(_ text: String) {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
      ["smtp", "smtps"].contains(scheme), let host = components.host, !host.isEmpty,
      components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil
    else { return nil }
    implicitTLS = scheme == "smtps"
    self.host = host
    port = components.port ?? (implicitTLS ? 465 : 587)
    guard (1...65535).contains(port) else { return nil }
    user = components.user?.removingPercentEncoding
    password = components.password?.removingPercentEncoding
  }
}
