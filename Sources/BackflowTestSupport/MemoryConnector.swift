import BackflowConfig
import BackflowDestinations
import Synchronization

/// One run's connector of a `MemoryDestination`: applies each operation as a table destination
/// does (upsert, update with "not found", insert refusing an existing key, delete, clear fields,
/// list add/remove, events), one outcome per record.
struct MemoryConnector: DestinationConnector {
  let destination: MemoryDestination
  let target: DestinationTarget

  var writesAtFinish: Bool { destination.contents.withLock { $0.writesAtFinish } }

  func prepare() async throws {
    if let message = destination.contents.withLock({ $0.prepareError }) { throw DestinationError(message) }
  }

  func send(_ batch: DestinationBatch) async throws -> [RecordOutcome] {
    let (delay, hold, fault, onBatch) = destination.contents.withLock { contents in
      contents.inFlight += 1
      contents.peakInFlight = max(contents.peakInFlight, contents.inFlight)
      contents.batches.append(
        MemoryDestination.SentBatch(
          number: batch.number, operation: batch.operation, keys: batch.records.map(\.key), at: destination.now()))
      return (
        contents.delay, contents.holdUntilInFlight, contents.faults.removeValue(forKey: batch.number), contents.onBatch
      )
    }
    onBatch?(batch.number)
    defer { destination.contents.withLock { $0.inFlight -= 1 } }
    if let hold {
      let deadline = ContinuousClock.now + .seconds(10)
      while destination.contents.withLock({ $0.peakInFlight < hold }), ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(2))
      }
    }
    if delay > .zero { try? await Task.sleep(for: delay) }
    if let fault { throw DestinationError(fault) }
    return destination.contents.withLock { contents in
      batch.records.map { record in apply(batch.operation, record, to: &contents) }
    }
  }

  private func apply(_ operation: DestinationOperation, _ record: DestinationRecord, to contents: inout MemoryDestination.Contents)
    -> RecordOutcome
  {
    let key = MemoryDestination.storageKey(record.key)
    if let reason = contents.refusals[key] { return .failed(reason) }
    let fields = Dictionary(zip(target.fields, record.values).map { ($0, $1) }, uniquingKeysWith: { _, last in last })
    switch operation {
    case .upsert, .add:
      contents.records[key, default: [:]].merge(fields) { _, new in new }
    case .update:
      guard contents.records[key] != nil else { return .failed("not found") }
      contents.records[key]?.merge(fields) { _, new in new }
    case .insert:
      guard contents.records[key] == nil else { return .failed("a record with this key exists") }
      contents.records[key] = fields
    case .delete, .remove:
      contents.records[key] = nil
    case .clearFields:
      if contents.records[key] != nil { contents.records[key]?.merge(fields) { _, new in new } }
    case .track:
      contents.events.append(record)
    case .clear:
      contents.records = [:]
    }
    return .succeeded
  }

  func clear() async throws {
    destination.contents.withLock {
      $0.records = [:]
      $0.clears += 1
    }
  }

  func sweep() async throws -> any DestinationSweep {
    MemorySweep(destination: destination)
  }

  func finish() async throws {
    let message = destination.contents.withLock { contents in
      contents.finishes += 1
      return contents.finishError
    }
    if let message { throw DestinationError(message) }
  }
}

/// Mirror's first-run sweep over a `MemoryDestination`.
final class MemorySweep: DestinationSweep {
  let destination: MemoryDestination
  private let kept = Mutex<Set<String>>([])

  init(destination: MemoryDestination) {
    self.destination = destination
  }

  func keep(_ keys: [JSONValue]) async throws {
    kept.withLock { $0.formUnion(keys.map(MemoryDestination.storageKey)) }
  }

  func finish() async throws -> Int {
    let kept = kept.withLock { $0 }
    return destination.contents.withLock { contents in
      let strangers = contents.records.keys.filter { !kept.contains($0) }
      for key in strangers { contents.records[key] = nil }
      contents.sweeps += 1
      return strangers.count
    }
  }
}
