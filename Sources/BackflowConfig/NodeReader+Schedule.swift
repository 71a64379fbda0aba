import Foundation
import Yams

extension NodeReader {
  func schedule(_ node: Node) -> Located<Schedule>? {
    let at = location(of: node)
    if let scalar = node.scalar, !isNull(node) {
      guard scalar.string == "manual" else {
        error("schedule must be \"manual\" or a mapping with one of every, cron, weekly, after or manual, got \(kind(of: node))", at: node)
        return nil
      }
      return Located(.manual, at: at)
    }
    guard let fields = fields(node, path: "schedule", allowed: ConfigKeys.schedule) else { return nil }
    let kinds = ["every", "cron", "weekly", "after", "manual"].filter(fields.has)
    guard kinds.count == 1, let kind = kinds.first else {
      if kinds.isEmpty {
        error("schedule needs one of every, cron, weekly, after or manual", at: at)
      } else {
        error("schedule has \(kinds.joined(separator: " and ")); a sync has exactly one schedule", at: fields.keyLocation(kinds[1]) ?? at)
      }
      return nil
    }
    for (key, owner) in [("timezone", "cron"), ("after_failure", "after")] where fields.has(key) && kind != owner {
      error("schedule.\(key) only goes with \(owner)\(key == "timezone" ? " (weekly takes its own timezone)" : "")", at: fields.keyLocation(key) ?? at)
      return nil
    }
    guard let value = fields[kind] else { return nil }
    let schedule: Schedule?
    switch kind {
    case "every":
      schedule = interval(value, path: "schedule.every").map { .every($0.value) }
    case "cron":
      schedule = cron(value, timeZoneNode: fields["timezone"])
    case "weekly":
      schedule = weekly(value)
    case "after":
      schedule = after(value, onFailureNode: fields["after_failure"])
    default:
      guard let manual = boolean(value, path: "schedule.manual") else { return nil }
      guard manual.value else {
        error("schedule.manual can only be true; to pause a sync, set enabled: false", at: value)
        return nil
      }
      schedule = .manual
    }
    return schedule.map { Located($0, at: at) }
  }

  private func cron(_ node: Node, timeZoneNode: Node?) -> Schedule? {
    guard let text = string(node, path: "schedule.cron") else { return nil }
    let timeZone = timeZoneNode.map { self.timeZone($0, path: "schedule.timezone") } ?? Schedule.defaultTimeZone
    switch CronExpression.parse(text.value) {
    case let .success(expression):
      guard let timeZone else { return nil }
      return .cron(expression, timeZone: timeZone)
    case let .failure(problem):
      error("schedule.cron \(text.quotedForMessage) is invalid: \(problem)", at: node)
      return nil
    }
  }

  private func weekly(_ node: Node) -> Schedule? {
    guard let fields = fields(node, path: "schedule.weekly", allowed: ConfigKeys.weekly, required: ["days", "at"]),
      let daysNode = fields["days"], let atNode = fields["at"], let dayItems = list(daysNode, path: "schedule.weekly.days")
    else { return nil }
    var ok = true
    var days: [Schedule.Weekday] = []
    for (index, item) in dayItems.enumerated() {
      guard let name = string(item, path: "schedule.weekly.days[\(index)]") else {
        ok = false
        continue
      }
      if let day = Schedule.Weekday(name: name.value) {
        if !days.contains(day) { days.append(day) }
      } else {
        let names = Schedule.Weekday.allCases.map { String("\($0)".prefix(3)) }
        error("schedule.weekly.days[\(index)] \(name.quotedForMessage) is not a day; use mon, tue, wed, thu, fri, sat or sun\(Suggestion.hint(for: name.value, in: names))", at: item)
        ok = false
      }
    }
    if dayItems.isEmpty {
      error("schedule.weekly.days must name at least one day", at: daysNode)
      ok = false
    }
    let timeItems = atNode.sequence.map(Array.init) ?? [atNode]
    var times: [Schedule.TimeOfDay] = []
    for (index, item) in timeItems.enumerated() {
      let path = atNode.sequence == nil ? "schedule.weekly.at" : "schedule.weekly.at[\(index)]"
      guard let text = string(item, path: path) else {
        ok = false
        continue
      }
      if let time = Schedule.TimeOfDay(text.value) {
        times.append(time)
      } else {
        invalid(text, at: item, path, "must be a time of day as HH:MM, like \"07:30\"")
        ok = false
      }
    }
    if timeItems.isEmpty {
      error("schedule.weekly.at must give at least one time", at: atNode)
      ok = false
    }
    let timeZone = fields["timezone"].map { self.timeZone($0, path: "schedule.weekly.timezone") } ?? Schedule.defaultTimeZone
    guard ok, let timeZone else { return nil }
    return .weekly(days: days, at: times, timeZone: timeZone)
  }

  private func after(_ node: Node, onFailureNode: Node?) -> Schedule? {
    guard let items = list(node, path: "schedule.after") else { return nil }
    guard !items.isEmpty else {
      error("schedule.after must name at least one sync", at: node)
      return nil
    }
    let names = items.enumerated().compactMap { index, item in
      nonEmptyString(item, path: "schedule.after[\(index)]", fromEnvironment: false)
    }
    let onFailure = onFailureNode.map { choice($0, path: "schedule.after_failure", as: Schedule.AfterFailure.self) } ?? Located(.skip, at: location(of: node))
    guard names.count == items.count, let onFailure else { return nil }
    return .after(names, onFailure: onFailure.value)
  }

  /// An IANA zone name as the system's tz database knows it, with "did you mean" for typos.
  private func timeZone(_ node: Node, path: String) -> String? {
    guard let text = string(node, path: path) else { return nil }
    guard TimeZone(identifier: text.value) != nil else {
      let hint = text.isSecret ? "" : Suggestion.hint(for: text.value, in: TimeZone.knownTimeZoneIdentifiers)
      error("\(path) \(text.quotedForMessage) is not an IANA time zone like Europe/Berlin or America/New_York\(hint)", at: node)
      return nil
    }
    return text.value
  }
}
