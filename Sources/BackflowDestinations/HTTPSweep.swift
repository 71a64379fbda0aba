import BackflowConfig
import Foundation

/// Mirror's first run on a destination that lists its records (an http one declared `readable`,
/// a rest sync with `list:`): the model's keys are kept in an `HTTPKeySet`; `finish` lists the
/// server's records page by page and notes those absent from it in a second set (with the ids a
/// listing gives), and only once the listing is complete (deleting while paging could make the
/// server skip records) sends them as `delete` batches. Memory holds a page and a batch.
final class HTTPSweep: DestinationSweep {
  /// Records per `delete` request.
  static let batchSize = 500

  typealias Delete = @Sendable ([DestinationRecord], Int) async throws -> [RecordOutcome]
  /// Calls its argument with each page of the destination's records, in turn.
  typealias Pages = @Sendable (_ page: ([DestinationRecord]) async throws -> Void) async throws -> Void

  private let name: String
  private let pages: Pages
  private let kept: HTTPKeySet
  private let strangers: HTTPKeySet
  private let delete: Delete
  /// A model key as the listing spells it (lower-cased, for an API whose keys ignore case).
  private let fold: @Sendable (JSONValue) -> JSONValue

  /// `delete` sends one batch of deletions, numbered from 1, and returns their outcomes.
  init(
    name: String, pages: @escaping Pages, fold: @escaping @Sendable (JSONValue) -> JSONValue = { $0 },
    delete: @escaping Delete
  ) throws {
    self.name = name
    self.pages = pages
    self.fold = fold
    self.kept = try HTTPKeySet()
    self.strangers = try HTTPKeySet()
    self.delete = delete
  }

  func keep(_ keys: [JSONValue]) async throws {
    try kept.insert(keys.map(fold))
  }

  func finish() async throws -> Int {
    try await pages { page in
      let absent = Set(try kept.absent(page.map(\.key)).map(HTTPKeySet.text))
      try strangers.insert(page.filter { absent.contains(HTTPKeySet.text($0.key)) })
    }
    var deleted = 0
    var failures: [String] = []
    var after: String?
    var number = 0
    while true {
      let records = try strangers.page(after: after, limit: Self.batchSize)
      guard let last = records.last else { break }
      after = HTTPKeySet.text(last.key)
      number += 1
      for outcome in try await delete(records, number) {
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
