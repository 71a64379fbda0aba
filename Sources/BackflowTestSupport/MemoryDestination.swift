import BackflowConfig
import BackflowDestinations
import Synchronization

/// An in-memory destination for the engine's batch loop: records in a dictionary by match key,
/// with refusals, faults, a delay and a count of batches in flight on request. It outlives runs;
/// each run opens a connector of it (`connector(for:)`, `Scenario.memory`).
public final class MemoryDestination: Sendable {
  /// One batch as the destination received it.
  public struct SentBatch: Sendable, Equatable {
    public var number: Int
    public var operation: DestinationOperation
    public var keys: [JSONValue]
    /// `now()` when the batch arrived (a virtual clock's time in pacing tests).
    public var at: Double
  }

  struct Contents {
    var records: [String: [String: JSONValue]] = [:]
    var events: [DestinationRecord] = []
    var batches: [SentBatch] = []
    var refusals: [String: String] = [:]
    var faults: [Int: String] = [:]
    var delay: Duration = .zero
    var holdUntilInFlight: Int?
    var onBatch: (@Sendable (Int) -> Void)?
    var inFlight = 0
    var peakInFlight = 0
    var prepareError: String?
    var finishError: String?
    var writesAtFinish = false
    var sweeps = 0
    var clears = 0
    var finishes = 0
  }

  let contents = Mutex(Contents())
  let now: @Sendable () -> Double

  /// `now` stamps each batch on arrival.
  public init(now: @escaping @Sendable () -> Double = { 0 }) {
    self.now = now
  }

  /// The connector one run sends through.
  public func connector(for target: DestinationTarget) -> any DestinationConnector {
    MemoryConnector(destination: self, target: target)
  }

  /// The key a record is stored under: its match value as compact JSON.
  public static func storageKey(_ key: JSONValue) -> String { key.rendered(compact: true) }

  // MARK: What tests arrange

  /// Fails every record whose match value is `key` with `reason`, until `accept(_:)`.
  public func refuse(_ key: JSONValue, reason: String = "refused by the test") {
    contents.withLock { $0.refusals[Self.storageKey(key)] = reason }
  }

  public func accept(_ key: JSONValue) {
    _ = contents.withLock { $0.refusals.removeValue(forKey: Self.storageKey(key)) }
  }

  /// Throws `message` (a `DestinationError`) from the batch numbered `batch` of the next run
  /// that sends one, once.
  public func fail(batch: Int, message: String = "connection lost") {
    contents.withLock { $0.faults[batch] = message }
  }

  /// How long each batch takes.
  public func delay(_ duration: Duration) {
    contents.withLock { $0.delay = duration }
  }

  /// Holds every batch until `count` batches have been in flight at once (or 10 s have passed),
  /// so a test sees the concurrency limit reached without depending on timing.
  public func holdUntilInFlight(_ count: Int?) {
    contents.withLock { $0.holdUntilInFlight = count }
  }

  /// Calls `action` with each batch's number as it arrives (to cancel a run mid-way).
  public func onBatch(_ action: (@Sendable (Int) -> Void)?) {
    contents.withLock { $0.onBatch = action }
  }

  /// Makes `prepare` throw `message`; `nil` clears it.
  public func failPrepare(_ message: String?) {
    contents.withLock { $0.prepareError = message }
  }

  /// Makes `finish` throw `message`; `nil` clears it.
  public func failFinish(_ message: String?) {
    contents.withLock { $0.finishError = message }
  }

  /// Whether outcomes hold only once `finish` returns, as a file destination's.
  public func writeAtFinish(_ flag: Bool) {
    contents.withLock { $0.writesAtFinish = flag }
  }

  /// Puts a record in place, as if someone else had written it.
  public func put(_ key: JSONValue, _ fields: [String: JSONValue] = [:]) {
    contents.withLock { $0.records[Self.storageKey(key)] = fields }
  }

  /// Forgets the batches received so far and the peak in flight.
  public func resetLog() {
    contents.withLock {
      $0.batches = []
      $0.peakInFlight = 0
    }
  }

  // MARK: What tests read

  /// The records, by their match value as compact JSON (`"a@example.com"` with its quotes).
  public var records: [String: [String: JSONValue]] { contents.withLock { $0.records } }
  /// Events tracked, in order.
  public var events: [DestinationRecord] { contents.withLock { $0.events } }
  /// Batches received, in the order they arrived.
  public var batches: [SentBatch] { contents.withLock { $0.batches } }
  /// The most batches that were in flight at once.
  public var peakInFlight: Int { contents.withLock { $0.peakInFlight } }
  /// How many times the object was emptied (`resync --clear`), swept, and finished.
  public var clears: Int { contents.withLock { $0.clears } }
  public var sweeps: Int { contents.withLock { $0.sweeps } }
  public var finishes: Int { contents.withLock { $0.finishes } }
}
