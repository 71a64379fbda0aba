import BackflowConfig
import Foundation

/// Mirror's first run on a destination declared `readable`: the model's keys are kept in an
/// `HTTPKeySet`; `finish` lists the server's keys page by page and notes those absent from it in
/// a second set, and only once the listing is complete (deleting while paging could make the
/// server skip records) sends them as `delete` batches. Memory holds a page and a batch.
final class HTTPSweep: DestinationSweep {
  /// Records per `delete` request.
  static let batchSize = 500

  typealias Delete = @Sendable ([DestinationRecord], Int) async throws -> [RecordOutcome]

  private let name: String
  private let reader: HTTPReadEndpoints
  private let kept: HTTPKeySet
  private let strangers: HTTPKeySet
  private let delete: Delete

  /// `delete` sends one batch of deletions, numbered from 1, and returns their outcomes.
  init(name: String, reader: HTTPReadEndpoints, delete: @escaping Delete) throws {
    self.name = name
    self.reader = reader
    self.kept = try HTTPKeySet()
    self.strangers = try HTTPKeySet()
    self.delete = delete
  }

  func keep(_ keys: [JSONValue]) async throws {
    try kept.insert(keys)
  }

  func finish() async throws -> Int {
    try await reader.eachPage { page in try strangers.insert(try kept.absent(page)) }
    var deleted = 0
    var failures: [String] = []
    var after: String?
    var number = 0
    while true {
      let keys = try strangers.page(after: after, limit: Self.batchSize)
      guard let last = keys.last else { break }
      after = HTTPKeySet.text(last)
      number += 1
      for outcome in try await delete(keys.map { DestinationRecord(key: $0, values: []) }, number) {
        switch outcome {
        case .succeeded: deleted += 1
        case let .failed(reason): failures.append(reason)
        }
      }
    }
    guard failures.isEmpty else {
      throw DestinationError(
        "destination \(name): mirror's sweep could not delete \(plural(failures.count, "record")) absent from the "
          + "model (\(failures[0])); the next full run tries again")
    }
    return deleted
  }
}
