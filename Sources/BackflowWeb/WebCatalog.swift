import BackflowConfig
import BackflowState

/// What the web UI knows of the project besides the state store: each sync's model, destination and
/// schedule, and the renderers the commands already have (next run, errors report), handed in by
/// `backflow serve` and `backflow daemon` so the pages say exactly what `schedule` and `errors` say.
public struct WebCatalog: Sendable {
  /// One sync of the project, as the syncs page lists it.
  public struct Sync: Sendable {
    public var name: String
    public var model: String
    public var destination: String
    public var object: String
    public var mode: String
    /// The schedule in words, as `backflow schedule` says it.
    public var schedule: String

    public init(name: String, model: String, destination: String, object: String, mode: String, schedule: String) {
      self.name = name
      self.model = model
      self.destination = destination
      self.object = object
      self.mode = mode
      self.schedule = schedule
    }
  }

  /// The project's directory name, shown in page titles.
  public var title: String
  public var syncs: [Sync]
  /// When a sync runs next, in words and as an ISO 8601 time when there is one, from its newest run.
  public var nextRun: @Sendable (_ sync: String, _ lastRun: RunRecord?) -> (words: String, at: String?)
  /// The failed rows the next runs retry, grouped by reason under `error_categories`, from the
  /// state store and the sync names by ID.
  public var errors: @Sendable (_ state: StateStore, _ syncNames: [Int: String]) throws -> ErrorsView

  public init(
    title: String, syncs: [Sync],
    nextRun: @escaping @Sendable (_ sync: String, _ lastRun: RunRecord?) -> (words: String, at: String?),
    errors: @escaping @Sendable (_ state: StateStore, _ syncNames: [Int: String]) throws -> ErrorsView
  ) {
    self.title = title
    self.syncs = syncs
    self.nextRun = nextRun
    self.errors = errors
  }
}

/// Failed rows grouped by reason under the categories of `error_categories`, as `backflow errors`
/// groups them, with that command's JSON document for `/api/errors`.
public struct ErrorsView: Sendable {
  public struct Share: Sendable {
    public var sync: String
    public var runID: Int
    public var count: Int
    public var sample: [FailedRow]

    public init(sync: String, runID: Int, count: Int, sample: [FailedRow]) {
      self.sync = sync
      self.runID = runID
      self.count = count
      self.sample = sample
    }
  }

  public struct Reason: Sendable {
    public var text: String
    public var count: Int
    public var shares: [Share]

    public init(text: String, count: Int, shares: [Share]) {
      self.text = text
      self.count = count
      self.shares = shares
    }
  }

  public struct Category: Sendable {
    public var name: String
    /// `nil` for "uncategorised".
    public var pattern: String?
    public var count: Int
    public var reasons: [Reason]

    public init(name: String, pattern: String?, count: Int, reasons: [Reason]) {
      self.name = name
      self.pattern = pattern
      self.count = count
      self.reasons = reasons
    }
  }

  /// The runs read: the latest finished run of each sync that sent rows.
  public var runs: [(sync: String, run: RunRecord, failedRows: Int)]
  public var categories: [Category]
  /// `backflow errors --format json`.
  public var json: JSONValue

  public init(runs: [(sync: String, run: RunRecord, failedRows: Int)], categories: [Category], json: JSONValue) {
    self.runs = runs
    self.categories = categories
    self.json = json
  }
}
