import BackflowPlanner
import BackflowState
import Foundation

/// New syncs' planned rows, handed from the planner, which runs on a thread of its own, to the runs
/// that send them, with no plan file in between: `apply --auto-approve` of syncs that have never
/// run (docs/decisions.md, "Apply"). Their snapshots are empty, so every row is an addition
/// (or a rejected key) and nothing is removed: the removal pass and the deletion guard have nothing
/// to wait for.
///
/// The planner plans one sync at a time, in the order the runs read them. A run that stops early
/// abandons its sync: the planner's next write for it throws, and it goes on to the next sync.
final class PlanStream: PlannedRowSink, @unchecked Sendable {
  // @unchecked: every member below `condition` is read and written with it locked; `planner`,
  // `chunk` and `sync` are used only on `queue`, the planner's thread.

  private enum Item {
    case begin(sync: String, columns: [String], copy: TypedCopy?)
    case rows(sync: String, [PlannedRow])
    /// The sync is planned, or why its plan failed.
    case end(sync: String, failure: (any Error)?)
  }

  /// Rows handed over per lock; enough that locking costs nothing next to planning a row.
  private static let chunkSize = 1_024
  /// Chunks waiting for the run: the planner works at most this far ahead.
  private static let depth = 16

  private let condition = NSCondition()
  /// At most `depth` items: a taken one leaves the array at once, so its rows are freed.
  private var items: [Item] = []
  private var abandoned: Set<String> = []
  private var planningEnded = false
  /// The plans of the syncs planned so far, as one.
  private var plan: Plan?

  private let planner: Planner
  private var chunk: [PlannedRow] = []
  private var sync = ""
  private let queue = DispatchQueue(label: "backflow.plan-stream")

  /// Starts planning `names`, in that order, on a thread of its own; `planner` is used only there
  /// from now on.
  init(_ names: [String], planner: Planner, commit: String?) {
    self.planner = planner
    queue.async { [self] in
      for name in names {
        if isAbandoned(name) { continue }
        do {
          let planned = try self.planner.plan(selection: [name], commit: commit, sink: self)
          flush()
          let failed = planned.syncs.contains { $0.name == name && $0.failed }
          let errors = planned.diagnostics.all.filter { $0.severity == .error }.map(\.description)
          let failure = failed ? ApplyError("its plan failed: \(errors.last ?? "see `backflow plan`")") : nil
          put(.end(sync: name, failure: failure), of: name, plan: planned)
        } catch {
          chunk.removeAll()
          put(.end(sync: name, failure: error), of: name)
        }
      }
      condition.withLock {
        planningEnded = true
        condition.broadcast()
      }
    }
  }

  // MARK: The planner's side

  func begin(sync: String, columns: [String], copy: TypedCopy?) throws {
    flush()
    self.sync = sync
    put(.begin(sync: sync, columns: columns, copy: copy), of: sync)
  }

  func write(_ row: PlannedRow) throws {
    if case .remove = row {
      // A new sync's snapshot is empty; a removal here would be sent before the guard saw it.
      throw ApplyError("sync \(sync) planned a removal while its rows were streamed, which a new sync cannot have")
    }
    chunk.append(row)
    if chunk.count >= Self.chunkSize { try flushThrowing() }
  }

  private func flushThrowing() throws {
    flush()
    if isAbandoned(sync) { throw Abandoned() }
  }

  private func flush() {
    guard !chunk.isEmpty else { return }
    put(.rows(sync: sync, chunk), of: sync)
    chunk.removeAll(keepingCapacity: true)
  }

  private func isAbandoned(_ name: String) -> Bool { condition.withLock { abandoned.contains(name) } }

  /// Queues `item` of sync `name`, waiting while the run is `depth` chunks behind; dropped once
  /// the sync is abandoned.
  private func put(_ item: Item, of name: String, plan planned: Plan? = nil) {
    condition.withLock {
      if let planned {
        // One planner plans every sync, so its latest diagnostics hold all of them.
        plan = plan.map { whole in
          var whole = whole
          whole.syncs += planned.syncs
          whole.diagnostics = planned.diagnostics
          return whole
        } ?? planned
      }
      while items.count >= Self.depth, !abandoned.contains(name) { condition.wait() }
      guard !abandoned.contains(name) else { return }
      items.append(item)
      condition.broadcast()
    }
  }

  private struct Abandoned: Error {}

  // MARK: The runs' side

  /// Waits until the planner starts on `name`'s rows, skipping what is left of syncs before it:
  /// the model columns of its rows, or `nil` when it was planned without rows (disabled). Throws
  /// when its plan failed before its first row.
  func start(_ name: String) throws -> (columns: [String], copy: TypedCopy?)? {
    while let item = take() {
      switch item {
      case let .begin(sync, columns, copy) where sync == name: return (columns, copy)
      case let .end(sync, failure) where sync == name:
        if let failure { throw failure }
        return nil
      default: continue
      }
    }
    throw ApplyError("sync \(name) was not planned")
  }

  /// The rest of `name`'s rows, read after `start` returned `.rows`.
  func rows(of name: String, columns: [String]) -> any PlannedRowSource { Rows(stream: self, sync: name, columns: columns) }

  /// Stops planning `name`: its run no longer reads.
  func abandon(_ name: String) {
    condition.withLock {
      abandoned.insert(name)
      condition.broadcast()
    }
  }

  /// Stops planning and waits for the planner to end; the plan of the syncs it planned, `nil` when
  /// it planned none.
  func finish(_ names: [String]) -> Plan? {
    names.forEach(abandon)
    return condition.withLock {
      while !planningEnded { condition.wait() }
      return plan
    }
  }

  /// The next item, waiting for the planner; `nil` once it has ended and everything was read.
  private func take() -> Item? {
    condition.withLock {
      while items.isEmpty, !planningEnded { condition.wait() }
      guard !items.isEmpty else { return nil }
      // Shifting at most `depth` items costs nothing next to a chunk's rows.
      let item = items.removeFirst()
      condition.broadcast()
      return item
    }
  }

  /// One sync's rows as a run reads them: every row is an addition or a rejection, so the pass for
  /// removals is empty.
  private struct Rows: PlannedRowSource {
    let stream: PlanStream
    let sync: String
    let columns: [String]

    func rows(_ operations: [String]) throws -> any PlannedRowReader {
      Reader(stream: operations.isEmpty || operations.contains("add") ? stream : nil, sync: sync, columns: columns)
    }
  }

  private final class Reader: PlannedRowReader {
    private let stream: PlanStream?
    private let sync: String
    let columns: [String]
    private var rows: [PlannedRow] = []
    private var position = 0
    private var ended: Bool

    init(stream: PlanStream?, sync: String, columns: [String]) {
      self.stream = stream
      self.sync = sync
      self.columns = columns
      ended = stream == nil
    }

    func next() throws -> PlannedRow? {
      while position == rows.count {
        guard !ended, let item = stream?.take() else {
          ended = true
          return nil
        }
        switch item {
        case let .rows(sync, chunk) where sync == self.sync:
          rows = chunk
          position = 0
        case let .end(sync, failure) where sync == self.sync:
          ended = true
          // A plan that failed part way fails the run; the rows sent before it are recorded.
          if let failure { throw failure }
          return nil
        default:
          continue
        }
      }
      defer { position += 1 }
      return rows[position]
    }
  }
}
