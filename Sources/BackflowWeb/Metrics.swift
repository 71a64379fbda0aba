import BackflowState
import Foundation

/// `/metrics` in the Prometheus text format (version 0.0.4), computed from the state store at each
/// scrape, so it agrees with `backflow runs`: nothing is counted in memory, and a restart loses
/// nothing.
enum Metrics {
  /// Upper bounds of the run duration histogram, in seconds.
  static let durationBuckets: [Int] = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200]

  static func text(_ state: StateStore) throws -> String {
    let names = Dictionary(try state.syncs().map { ($0.id, $0.name) }) { first, _ in first }
    let totals = try state.runTotals()
    let times = try state.finishedRunTimes()
    let successes = try state.lastSuccesses()
    func labels(_ syncID: Int, _ more: [(String, String)] = []) -> String {
      let all = [("sync", names[syncID] ?? "sync \(syncID)"), ("sync_id", String(syncID))] + more
      return "{" + all.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }
    var lines: [String] = []
    lines += [
      "# HELP backflow_runs_total Runs recorded in the state store, by sync and status.",
      "# TYPE backflow_runs_total counter",
    ]
    for total in totals {
      lines.append("backflow_runs_total\(labels(total.syncID, [("status", total.status.rawValue)])) \(total.runs)")
    }

    lines += [
      "# HELP backflow_rows_total Rows sent by runs, by sync, operation (add, change, remove) and outcome (succeeded, failed, aborted).",
      "# TYPE backflow_rows_total counter",
    ]
    let operations: [(String, KeyPath<OperationCounts, Int>)] = [("add", \.add), ("change", \.change), ("remove", \.remove)]
    let bySync = Dictionary(grouping: totals, by: \.syncID)
    for syncID in bySync.keys.sorted() {
      let entries = bySync[syncID] ?? []
      for (operation, path) in operations {
        let outcomes: [(String, KeyPath<RunTotals, OperationCounts>)] = [
          ("succeeded", \.succeeded), ("failed", \.failed), ("aborted", \.aborted),
        ]
        for (outcome, counts) in outcomes {
          let value = entries.reduce(0) { $0 + $1[keyPath: counts][keyPath: path] }
          lines.append(
            "backflow_rows_total\(labels(syncID, [("operation", operation), ("outcome", outcome)])) \(value)")
        }
      }
    }

    lines += [
      "# HELP backflow_run_duration_seconds How long finished runs took, from start to finish, by sync.",
      "# TYPE backflow_run_duration_seconds histogram",
    ]
    var durations: [Int: [Int]] = [:]
    for time in times {
      guard let seconds = RunRecord.seconds(from: time.startedAt, to: time.finishedAt) else { continue }
      durations[time.syncID, default: []].append(seconds)
    }
    for syncID in durations.keys.sorted() {
      let values = durations[syncID] ?? []
      for bound in durationBuckets {
        lines.append(
          "backflow_run_duration_seconds_bucket\(labels(syncID, [("le", String(bound))])) \(values.filter { $0 <= bound }.count)")
      }
      lines.append("backflow_run_duration_seconds_bucket\(labels(syncID, [("le", "+Inf")])) \(values.count)")
      lines.append("backflow_run_duration_seconds_sum\(labels(syncID)) \(values.reduce(0, +))")
      lines.append("backflow_run_duration_seconds_count\(labels(syncID)) \(values.count)")
    }

    lines += [
      "# HELP backflow_last_success_timestamp_seconds When the newest succeeded run of each sync finished, in Unix seconds.",
      "# TYPE backflow_last_success_timestamp_seconds gauge",
    ]
    for syncID in successes.keys.sorted() {
      guard let at = successes[syncID], let date = try? Date(at, strategy: .iso8601) else { continue }
      lines.append("backflow_last_success_timestamp_seconds\(labels(syncID)) \(Int(date.timeIntervalSince1970))")
    }
    lines += [
      "# HELP backflow_open_alerts Alerts open now, by sync and condition (failure, rejected_rows, volume_drop, slow).",
      "# TYPE backflow_open_alerts gauge",
    ]
    for alert in try state.openAlerts().sorted(by: { ($0.syncID, $0.alert) < ($1.syncID, $1.alert) }) {
      lines.append("backflow_open_alerts\(labels(alert.syncID, [("alert", alert.alert)])) 1")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A label value: backslash, double quote and line feed escaped, as the format requires.
  static func escape(_ value: String) -> String {
    value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n")
  }
}
