import BackflowConfig
import Foundation

/// One thing to tell a channel: an alert opened or closed, or a test. It names the sync, the
/// run, the figure and the threshold, and holds nothing secret, so it is kept in state as it is.
public struct AlertEvent: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    case opened = "alert.opened"
    case closed = "alert.closed"
    case test
  }

  public var event: Kind
  /// The condition: failure, rejected_rows, volume_drop or slow; `nil` for a test.
  public var alert: String?
  public var sync: String?
  public var syncID: Int?
  public var runID: Int?
  public var figure: String?
  public var threshold: String?
  /// When the run that caused it was judged.
  public var occurredAt: String

  public init(
    event: Kind, alert: String?, sync: String?, syncID: Int?, runID: Int?, figure: String?, threshold: String?,
    occurredAt: String = Date().formatted(.iso8601)
  ) {
    self.event = event
    self.alert = alert
    self.sync = sync
    self.syncID = syncID
    self.runID = runID
    self.figure = figure
    self.threshold = threshold
    self.occurredAt = occurredAt
  }

  /// A test message for `backflow notify --test`.
  public static func test(channel: String) -> AlertEvent {
    AlertEvent(
      event: .test, alert: nil, sync: nil, syncID: nil, runID: nil,
      figure: "a test message to channel \(channel) from `backflow notify --test`", threshold: nil)
  }

  private func fields(time key: String, time: String) -> [(String, JSONValue)] {
    func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    func number(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    return [
      ("event", .string(event.rawValue)), ("alert", text(alert)), ("sync", text(sync)), ("sync_id", number(syncID)),
      ("run_id", number(runID)), ("figure", text(figure)), ("threshold", text(threshold)), (key, .string(time)),
    ]
  }

  /// As kept in state until delivered.
  public var payload: String {
    JSONValue.object(fields(time: "occurred_at", time: occurredAt)).rendered(compact: true)
  }

  /// Reads a payload back; `nil` when it is not one.
  public init?(payload: String) {
    guard let json = try? JSONValue.parse(payload), case let .string(kind)? = json["event"],
      let event = Kind(rawValue: kind), case let .string(occurredAt)? = json["occurred_at"]
    else { return nil }
    func text(_ key: String) -> String? { if case let .string(value)? = json[key] { value } else { nil } }
    func number(_ key: String) -> Int? { if case let .int(value)? = json[key] { value } else { nil } }
    self.init(
      event: event, alert: text("alert"), sync: text("sync"), syncID: number("sync_id"), runID: number("run_id"),
      figure: text("figure"), threshold: text("threshold"), occurredAt: occurredAt)
  }

  /// The webhook channel's body (docs/alerts.md): the event's fields, `sent_at`, and `text`.
  public func webhookBody(sentAt: String) -> String {
    JSONValue.object(fields(time: "sent_at", time: sentAt) + [("text", .string(text))]).rendered(compact: true)
  }

  /// One line, for Slack and mail subjects: what happened, to which sync, in which run.
  public var headline: String {
    let subject = "\(alert ?? "alert") on sync \(sync ?? "?")"
    switch event {
    case .opened: return "Backflow alert: \(subject)"
    case .closed: return "Backflow recovered: \(subject)"
    case .test: return "Backflow test notification"
    }
  }

  /// The whole message as plain text: the headline, then the sync, run, figure and threshold.
  public var text: String {
    var lines = [headline]
    if event == .test {
      lines.append(figure ?? "")
      return lines.joined(separator: "\n")
    }
    lines.append("Sync: \(sync ?? "?")" + (syncID.map { " (ID \($0))" } ?? ""))
    lines.append("Run: " + (runID.map { "#\($0)" } ?? "none (the sync could not run)"))
    lines.append("Figure: \(figure ?? "")")
    lines.append("Threshold: \(threshold ?? "none")")
    if event == .closed { lines.append("The alert is closed: the condition no longer holds.") }
    return lines.joined(separator: "\n")
  }
}
