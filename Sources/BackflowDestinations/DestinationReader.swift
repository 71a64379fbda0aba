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

/// Opens a reader for the destinations that can be read back.
public enum DestinationReaders {
  /// Why `destination` cannot be read back, or `nil` when `open` can read it.
  public static func refusal(_ destination: Destination) -> String? {
    switch destination.type.value {
    case .postgres, .sqlite: nil
    case .http:
      destination.isReadable
        ? nil
        : "the destination does not declare readable: true, so its records cannot be read back (the HTTP protocol "
          + "reads records only through the read endpoints, docs/destinations.md)"
    case .file: "the destination cannot be read back: drift reads PostgreSQL and SQLite tables only"
    }
  }

  /// Connects to `destination` and finds the target's table, with the checks apply makes before
  /// sending (the table, its columns, the match field's unique index); an http destination is
  /// first asked when records are compared. `directory` is the project directory, against which
  /// SQLite paths resolve.
  public static func open(_ destination: Destination, for target: DestinationTarget, in directory: URL) throws
    -> any DestinationReader
  {
    if let refusal = refusal(destination) { throw DestinationError(refusal) }
    switch destination.type.value {
    case .postgres:
      guard let url = destination.url?.value else { throw DestinationError("destination \(destination.name.value) has no url") }
      return try PostgresDestinationReader(conninfo: url, target: target)
    case .http:
      guard let url = destination.url?.value else { throw DestinationError("destination \(destination.name.value) has no url") }
      return try HTTPDestinationReader(
        baseURL: url, headers: destination.headers.map { ($0.name.value, $0.value.value) },
        timeout: destination.requestTimeout,
        retryPolicy: RetryPolicy(retries: destination.retries?.value ?? Destination.defaultRetries),
        target: target, name: destination.name.value)
    default:
      guard let path = destination.path?.value else {
        throw DestinationError("destination \(destination.name.value) has no path")
      }
      return try SQLiteDestinationReader(path: directory.resolvingProjectPath(path).path, target: target)
    }
  }

  /// `text` cut to `FieldDrift.maxLength` characters, marked with `…` when cut.
  static func truncated(_ text: String?) -> String? {
    guard let text, text.count > FieldDrift.maxLength else { return text }
    return String(text.prefix(FieldDrift.maxLength - 1)) + "…"
  }
}
