import BackflowAlerts
import BackflowConfig
import BackflowState

/// What `backflow alerts` prints (docs/alerts.md).
struct AlertsRenderer {
  /// Changes only when a field is removed or changes meaning; new fields may appear.
  static let formatVersion = 1

  let terminal: Terminal

  func render(_ open: [AlertRecord], pending: [PendingNotification], as format: HistoryFormat) -> String {
    switch format {
    case .json: json(open, pending: pending).rendered() + "\n"
    case .text: text(open, pending: pending)
    }
  }

  private func text(_ open: [AlertRecord], pending: [PendingNotification]) -> String {
    var lines: [String] = []
    if open.isEmpty {
      lines.append("No alerts are open.")
    } else {
      var table = TextTable([
        ("SYNC", .left), ("ALERT", .left), ("SINCE", .left), ("RUN", .right), ("FIGURE", .left), ("THRESHOLD", .left),
      ])
      for alert in open {
        table.append([
          TextTable.Cell(alert.syncName, .bold), TextTable.Cell(alert.alert, .red), TextTable.Cell(alert.openedAt),
          TextTable.Cell(alert.runID.map { "#\($0)" } ?? "-"), TextTable.Cell(alert.figure),
          TextTable.Cell(alert.threshold ?? "-"),
        ])
      }
      lines.append("\(plural(open.count, "alert")) open:")
      lines += table.lines(terminal)
    }
    if !pending.isEmpty {
      lines.append("")
      lines.append("\(plural(pending.count, "notification")) not yet delivered (retried after the next run, for 24 hours):")
      for notification in pending {
        let about = AlertEvent(payload: notification.payload).map { " \($0.alert ?? "") on sync \($0.sync ?? "?")" } ?? ""
        let error = notification.lastError.map { ": \($0)" } ?? ""
        lines.append(
          "  \(notification.event)\(about) to \(notification.channel), since \(notification.createdAt), "
            + "\(plural(notification.attempts, "attempt"))\(error)")
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private func json(_ open: [AlertRecord], pending: [PendingNotification]) -> JSONValue {
    func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    let alerts = open.map { alert in
      JSONValue.object([
        ("sync", .string(alert.syncName)), ("sync_id", .int(alert.syncID)), ("alert", .string(alert.alert)),
        ("opened_at", .string(alert.openedAt)), ("run_id", alert.runID.map(JSONValue.int) ?? .null),
        ("figure", .string(alert.figure)), ("threshold", text(alert.threshold)),
      ])
    }
    let undelivered = pending.map { notification in
      let event = AlertEvent(payload: notification.payload)
      return JSONValue.object([
        ("channel", .string(notification.channel)), ("event", .string(notification.event)),
        ("alert", text(event?.alert)), ("sync", text(event?.sync)), ("run_id", event?.runID.map(JSONValue.int) ?? .null),
        ("created_at", .string(notification.createdAt)), ("attempts", .int(notification.attempts)),
        ("last_error", text(notification.lastError)),
      ])
    }
    return .object([
      ("format_version", .int(Self.formatVersion)), ("alerts", .array(alerts)), ("undelivered", .array(undelivered)),
    ])
  }
}
