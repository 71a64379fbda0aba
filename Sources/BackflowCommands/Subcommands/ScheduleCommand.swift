import ArgumentParser
import BackflowConfig
import BackflowEngine
import BackflowState
import Foundation

extension Backflow {
  /// `backflow schedule`: each sync's schedule, last run and next run.
  public struct ScheduleCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "schedule",
      abstract: "Show each sync's schedule, its last run and when it is next due.",
      discussion: """
        Reads the state store and changes nothing. Next runs count from the start of each sync's \
        last run; `backflow apply --due` runs what is due. Fields: docs/schedules.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Option(help: "text or json (documented in docs/schedules.md).")
    var format: HistoryFormat = .text

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let (records, lastRuns) = try session.readingState {
        (try session.state.syncs().filter { $0.retiredAt == nil }, try session.state.lastRuns())
      }
      let now = Date()
      let entries = session.project.syncs.sorted { $0.name.value < $1.name.value }.map { sync in
        ScheduleEntry(
          sync: sync, id: records.first { $0.name == sync.name.value }?.id, lastRun: lastRuns[sync.name.value], now: now)
      }
      switch format {
      case .text: print(Self.text(entries, terminal: session.terminal), terminator: "")
      case .json: print(Self.json(entries, now: now).rendered() + "\n", terminator: "")
      }
    }

    static func text(_ entries: [ScheduleEntry], terminal: Terminal) -> String {
      guard !entries.isEmpty else { return "No syncs in the project.\n" }
      var lines: [String] = []
      for entry in entries {
        let id = entry.id.map { " (ID \($0))" } ?? ""
        lines.append("\(terminal.paint(entry.name, .bold))\(id): \(entry.words)")
        if let run = entry.lastRun {
          lines.append("  last run:  run \(run.id), \(run.status.rawValue), started \(run.startedAt)")
        } else {
          lines.append("  last run:  never")
        }
        lines.append("  next run:  \(entry.nextInWords)")
      }
      return lines.joined(separator: "\n") + "\n"
    }

    static func json(_ entries: [ScheduleEntry], now: Date) -> JSONValue {
      .object([
        ("format_version", .int(1)),
        ("now", .string(now.formatted(.iso8601))),
        ("syncs", .array(entries.map(\.json))),
      ])
    }
  }
}

/// One sync as `backflow schedule` shows it.
struct ScheduleEntry {
  var name: String
  var id: Int?
  var enabled: Bool
  var schedule: Schedule
  var lastRun: RunRecord?
  var due: Schedule.Due
  var now: Date

  init(sync: Sync, id: Int?, lastRun: RunRecord?, now: Date) {
    name = sync.name.value
    self.id = id
    enabled = sync.enabled.value
    schedule = sync.schedule.value
    self.lastRun = lastRun
    due = schedule.nextDue(lastRun: lastRun?.startDate)
    self.now = now
  }

  /// Whether `apply --due` would start it now by its own schedule.
  var isDue: Bool { enabled && due.isDue(at: now) }

  /// The zone its slots are in; `nil` for schedules that have none.
  var timeZone: String? {
    switch schedule {
    case let .cron(_, zone), let .weekly(_, _, zone): zone
    case .every, .after, .manual: nil
    }
  }

  /// The schedule in words.
  var words: String {
    let schedule =
      switch self.schedule {
      case let .every(interval): "every \(interval)"
      case let .cron(expression, zone): "cron \"\(expression)\" in \(zone)"
      case let .weekly(days, times, zone):
        "weekly on \(days.map { String("\($0)".prefix(3)) }.joined(separator: ", ")) at "
          + "\(times.map(\.description).joined(separator: ", ")) in \(zone)"
      case let .after(leaders, onFailure):
        "after \(leaders.map(\.value).joined(separator: ", "))"
          + (onFailure == .run
            ? " (runs even when \(leaders.count == 1 ? "it fails" : "they fail"))"
            : " (skipped when \(leaders.count == 1 ? "it" : "one") fails)")
      case .manual: "manual: runs only when applied by name"
      }
    return enabled ? schedule : "disabled (enabled: false); \(schedule)"
  }

  var nextInWords: String {
    guard enabled else { return "never: the sync is disabled" }
    switch due {
    case .now: return "due now (it has never run)"
    case let .at(date):
      let when = Self.describe(date, in: timeZone)
      return date <= now ? "due now (since \(when))" : when
    case .never: return "never: the cron expression matches no date in the next ten years"
    case let .after(leaders):
      return "when \(leaders.joined(separator: ", ")) \(leaders.count == 1 ? "has" : "have") run in the same `apply --due`"
    case .manual: return "only when applied by name"
    }
  }

  var json: JSONValue {
    let next = due.date
    let zone = timeZone.flatMap(TimeZone.init(identifier:))
    var kind: String
    var after: JSONValue = .null
    var afterFailure: JSONValue = .null
    switch schedule {
    case .every: kind = "every"
    case .cron: kind = "cron"
    case .weekly: kind = "weekly"
    case let .after(leaders, onFailure):
      kind = "after"
      after = .array(leaders.map { .string($0.value) })
      afterFailure = .string(onFailure.rawValue)
    case .manual: kind = "manual"
    }
    let lastRun: JSONValue = lastRun.map { run in
      .object([("id", .int(run.id)), ("started_at", .string(run.startedAt)), ("status", .string(run.status.rawValue))])
    } ?? .null
    return .object([
      ("name", .string(name)),
      ("id", id.map(JSONValue.int) ?? .null),
      ("enabled", .bool(enabled)),
      ("schedule", .string(kind)),
      ("description", .string(words)),
      ("timezone", timeZone.map(JSONValue.string) ?? .null),
      ("after", after),
      ("after_failure", afterFailure),
      ("last_run", lastRun),
      ("next_run", enabled ? next.map { .string($0.formatted(.iso8601)) } ?? .null : .null),
      ("next_run_local", enabled ? next.map { .string(Self.local($0, in: zone)) } ?? .null : .null),
      ("due", .bool(isDue)),
    ])
  }

  /// `2024-03-10T07:00:00Z (03:00 on 2024-03-10 in America/New_York)`.
  static func describe(_ date: Date, in zone: String?) -> String {
    let utc = date.formatted(.iso8601)
    guard let zone, zone != "UTC", let timeZone = TimeZone(identifier: zone) else { return utc }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
    func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
    let day = "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day))"
    return "\(utc) (\(two(parts.hour)):\(two(parts.minute)) on \(day) in \(zone))"
  }

  /// ISO 8601 with the zone's offset, such as `2024-03-10T03:00:00-04:00` (`Z` in UTC).
  static func local(_ date: Date, in zone: TimeZone?) -> String {
    var style = Date.ISO8601FormatStyle(timeZoneSeparator: .colon)
    style.timeZone = zone ?? TimeZone(identifier: "UTC") ?? .current
    return date.formatted(style)
  }
}
