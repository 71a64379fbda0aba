import BackflowConfig
import Foundation

/// Reads back the records a sync wrote to a destination, for `backflow drift`. Nothing in the
/// destination is changed; mirror's check keeps match values in a temporary table of its own
/// connection (on SQL destinations) or a temporary SQLite database (on http ones).
///
/// Async because the HTTP reader's client is; the SQL readers do their work synchronously.
/// Not `Sendable`: used by one task at a time, as the planner uses model readers.
public protocol DestinationReader: AnyObject {
  /// Looks up each record by its match value (`DestinationRecord.key`) and compares the fields
  /// it holds with the record's values, as the destination stores them. One result per record,
  /// in order.
  func compare(_ records: [DestinationRecord]) async throws -> [RecordDrift]

  /// Notes match values that belong in the destination (mirror's check).
  func expect(_ keys: [JSONValue]) async throws

  /// How many records have a match value never passed to `expect`, and the first `sample` of
  /// those values (in the destination's order), as text. NULL match values are not counted.
  func unexpected(sample: Int) async throws -> (count: Int, sample: [String])

  /// Lets go of connections that do not close by themselves (the HTTP client).
  func close() async
}

extension DestinationReader {
  public func close() async {}
}

/// How one record in the destination compares with what Backflow wrote.
public enum RecordDrift: Sendable, Equatable {
  case same
  /// No record has the match value.
  case missing
  /// These fields differ.
  case differs([FieldDrift])
}

/// One field that differs: the destination's value and Backflow's, as the destination prints
/// them (`nil` for NULL), cut to `FieldDrift.maxLength` characters.
public struct FieldDrift: Sendable, Equatable {
  public static let maxLength = 100

  public var field: String
  public var destination: String?
  public var written: String?

  public init(field: String, destination: String?, written: String?) {
    self.field = field
    self.destination = destination
    self.written = written
  }
}

/// What every destination reader shares.
public enum DestinationReaders {
  /// `text` cut to `FieldDrift.maxLength` characters, marked with `…` when cut.
  public static func truncated(_ text: String?) -> String? {
    guard let text, text.count > FieldDrift.maxLength else { return text }
    return String(text.prefix(FieldDrift.maxLength - 1)) + "…"
  }
}
