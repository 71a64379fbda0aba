import BackflowConfig
import BackflowState
import Foundation

/// Failed rows grouped by reason, and reasons under the categories of `error_categories`: what
/// `backflow errors` prints. Pure, so grouping and categorising are tested without a database.
struct ErrorReport {
  /// A run whose failed rows are counted, and its sync's name.
  struct Run {
    var sync: String
    var record: RunRecord
    var failedRows: Int
    /// The sync's newest finished run, when it is newer than `record` but sent no rows (refused
    /// by the deletion guard, stopped before its first batch), so it was passed over.
    var passedOver: RunRecord?
  }

  /// The rows of one sync that failed for one reason.
  struct SyncShare {
    var sync: String
    var runID: Int
    var count: Int
    var sample: [FailedRow]
  }

  /// One reason, across every run read.
  struct Reason {
    var text: String
    var count: Int
    /// By sync, most rows first.
    var syncs: [SyncShare]
  }

  struct Category {
    var name: String
    /// `nil` for "uncategorised".
    var pattern: String?
    /// Most rows first.
    var reasons: [Reason]
    var count: Int { reasons.reduce(0) { $0 + $1.count } }
  }

  var runs: [Run]
  /// The configured categories in the order written, then "uncategorised", always.
  var categories: [Category]
  var failedRows: Int { runs.reduce(0) { $0 + $1.failedRows } }

  /// Groups `groups` (rows by run and reason) by reason, and files each reason under the first
  /// category whose expression matches it. `passedOver` are newer runs of the same syncs that
  /// sent no rows.
  init(
    runs: [RunRecord], passedOver: [RunRecord] = [], groups: [FailureGroup], syncNames: [Int: String],
    categories: [ErrorCategory]
  ) throws {
    let name = { (run: RunRecord) in syncNames[run.syncID] ?? "sync \(run.syncID)" }
    let runsByID = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0) })
    self.runs = runs.map { run in
      Run(
        sync: name(run), record: run, failedRows: groups.filter { $0.runID == run.id }.reduce(0) { $0 + $1.count },
        passedOver: passedOver.first { $0.syncID == run.syncID && $0.id > run.id })
    }

    var reasons: [String: Reason] = [:]
    for group in groups {
      guard let run = runsByID[group.runID] else { continue }
      let share = SyncShare(sync: name(run), runID: run.id, count: group.count, sample: group.sample)
      reasons[group.reason, default: Reason(text: group.reason, count: 0, syncs: [])].count += group.count
      reasons[group.reason]?.syncs.append(share)
    }
    let ordered = reasons.values.map { reason in
      var reason = reason
      reason.syncs.sort { ($1.count, $0.sync) < ($0.count, $1.sync) }
      return reason
    }.sorted { ($1.count, $0.text) < ($0.count, $1.text) }

    let expressions = try categories.map { ($0, try $0.expression()) }
    var filed = expressions.map { Category(name: $0.0.name.value, pattern: $0.0.pattern.value, reasons: []) }
    var uncategorised = Category(name: ErrorCategory.uncategorised, pattern: nil, reasons: [])
    for reason in ordered {
      if let index = expressions.firstIndex(where: { ErrorCategory.matches($0.1, reason.text) }) {
        filed[index].reasons.append(reason)
      } else {
        uncategorised.reasons.append(reason)
      }
    }
    self.categories = filed + [uncategorised]
  }
}
