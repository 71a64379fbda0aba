import Foundation

/// A five-field cron expression (minute hour day-of-month month day-of-week), parsed to the sets
/// of values each field allows.
public struct CronExpression: Sendable, Hashable, Encodable, CustomStringConvertible {
  public struct Field: Sendable, Hashable {
    public var name: String
    public var range: ClosedRange<Int>
    var names: [String] = []
  }

  public static let fields = [
    Field(name: "minute", range: 0...59),
    Field(name: "hour", range: 0...23),
    Field(name: "day of month", range: 1...31),
    Field(name: "month", range: 1...12,
          names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]),
    // 7 is Sunday too, as in most crons.
    Field(name: "day of week", range: 0...7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
  ]

  static let macros = [
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
  ]

  public var description: String
  public var minutes: Set<Int>
  public var hours: Set<Int>
  public var daysOfMonth: Set<Int>
  public var months: Set<Int>
  /// 0 is Sunday; a 7 in the expression is folded into 0.
  public var daysOfWeek: Set<Int>
  /// Whether day of month and day of week were restricted: cron ORs the two when both are. As in
  /// Vixie cron, a field starting with `*` (`*/2` too) does not restrict.
  public var restrictsDayOfMonth: Bool
  public var restrictsDayOfWeek: Bool

  /// Parses `text`, or says what is wrong with it in words a user can act on.
  public static func parse(_ text: String) -> Result<CronExpression, CronError> {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let expanded = macros[trimmed.lowercased()] ?? trimmed
    let parts = expanded.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count == 5 else {
      return .failure(CronError("expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, found \(parts.count)"))
    }
    var sets: [Set<Int>] = []
    for (part, field) in zip(parts, fields) {
      switch parseField(String(part), field) {
      case let .success(values): sets.append(values)
      case let .failure(error): return .failure(error)
      }
    }
    var weekdays = sets[4]
    if weekdays.remove(7) != nil { weekdays.insert(0) }
    return .success(
      CronExpression(
        description: text, minutes: sets[0], hours: sets[1], daysOfMonth: sets[2], months: sets[3],
        daysOfWeek: weekdays, restrictsDayOfMonth: !parts[2].hasPrefix("*"),
        restrictsDayOfWeek: !parts[4].hasPrefix("*")))
  }

  private static func parseField(_ text: String, _ field: Field) -> Result<Set<Int>, CronError> {
    var values = Set<Int>()
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
      let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
      guard (1...2).contains(stepParts.count), !stepParts[0].isEmpty else {
        return .failure(CronError("\(field.name) \"\(item)\" is not a value, range or step"))
      }
      var step = 1
      if stepParts.count == 2 {
        guard let parsed = Int(stepParts[1]), parsed > 0 else {
          return .failure(CronError("\(field.name) step \"\(stepParts[1])\" must be a whole number above 0"))
        }
        step = parsed
      }
      let base = stepParts[0]
      var bounds = field.range
      if base != "*" {
        let ends = base.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(ends.count) else {
          return .failure(CronError("\(field.name) \"\(base)\" is not a value or a range"))
        }
        var numbers: [Int] = []
        for end in ends {
          guard let number = value(String(end), field) else {
            let allowed = field.names.isEmpty ? "" : " or \(field.names.first ?? "")-\(field.names.last ?? "")"
            return .failure(CronError("\(field.name) \"\(end)\" is not in \(field.range.lowerBound)-\(field.range.upperBound)\(allowed)"))
          }
          numbers.append(number)
        }
        let low = numbers[0]
        // "5/15" means from 5 to the end in steps of 15, as in Vixie cron.
        let high = numbers.count == 2 ? numbers[1] : (stepParts.count == 2 ? field.range.upperBound : low)
        guard low <= high else {
          return .failure(CronError("\(field.name) range \"\(base)\" runs backwards"))
        }
        bounds = low...high
      }
      values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
    }
    return .success(values)
  }

  private static func value(_ text: String, _ field: Field) -> Int? {
    if let number = Int(text) { return field.range.contains(number) ? number : nil }
    guard let index = field.names.firstIndex(of: text.lowercased()) else { return nil }
    return field.range.lowerBound + index
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// Why a cron expression was refused.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}
