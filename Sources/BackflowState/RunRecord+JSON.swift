import BackflowConfig
import Foundation

/// The documented JSON of runs (docs/runs.md), shared by `backflow runs` and the web API.
extension RunRecord {
  /// The documented JSON object of one run; `sync` is its sync's name.
  public func json(sync: String) -> JSONValue {
    func counts(_ counts: OperationCounts) -> JSONValue {
      .object([
        ("add", .int(counts.add)), ("change", .int(counts.change)), ("remove", .int(counts.remove)),
        ("total", .int(counts.total)),
      ])
    }
    return .object([
      ("id", .int(id)),
      ("sync", .string(sync)),
      ("sync_id", .int(syncID)),
      ("status", .string(status.rawValue)),
      ("started_at", .string(startedAt)),
      ("finished_at", finishedAt.map(JSONValue.string) ?? .null),
      ("duration_seconds", durationSeconds.map(JSONValue.int) ?? .null),
      ("git_commit", gitCommit.map(JSONValue.string) ?? .null),
      ("rows_queried", .int(rowsQueried)),
      ("planned", counts(planned)),
      ("attempted", counts(attempted)),
      ("succeeded", counts(succeeded)),
      ("failed", counts(failed)),
      ("aborted", counts(aborted)),
      ("error", error.map(JSONValue.string) ?? .null),
    ])
  }

  /// Whole seconds between start and finish (state records times to the second); `nil` while
  /// the run has not finished.
  public var durationSeconds: Int? {
    finishedAt.flatMap { Self.seconds(from: startedAt, to: $0) }
  }

  /// `<1s`, `42s`, `3m05s`, `2h04m`; `nil` for a run that has not finished.
  public var durationText: String? {
    guard let seconds = durationSeconds else { return nil }
    switch seconds {
    case 0: return "<1s"
    case ..<60: return "\(seconds)s"
    case ..<3600: return String(format: "%dm%02ds", seconds / 60, seconds % 60)
    default: return String(format: "%dh%02dm", seconds / 3600, seconds % 3600 / 60)
    }
  }

  /// Whole seconds between two of state's ISO 8601 times.
  public static func seconds(from start: String, to end: String) -> Int? {
    guard let finished = try? Date(end, strategy: .iso8601), let started = try? Date(start, strategy: .iso8601)
    else { return nil }
    return max(Int(finished.timeIntervalSince(started).rounded()), 0)
  }
}

extension FailedRow {
  /// `{"operation", "key", "reason"}`, as `runs show --format json` lists failed rows.
  public var json: JSONValue {
    .object([
      ("operation", .string(operation)), ("key", key.map(JSONValue.string) ?? .null), ("reason", .string(reason)),
    ])
  }
}
