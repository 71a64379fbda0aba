import BackflowConfig

/// One connection of a table destination (PostgreSQL, SQLite, MySQL): what differs between the
/// databases, behind the one connector they share (`TableDestination`). Used on one thread at a
/// time; every error it throws is a `DestinationError` that says what to fix.
public protocol TableSession: AnyObject, SendableMetatype {
  associatedtype Table: TableDestinationTable

  /// Finds the target's table and checks that it can take the sync (see docs/destinations.md).
  func resolve(_ target: DestinationTarget) throws -> Table
  /// Applies the `pending` records of a batch (`TableColumns.screen` let them through) and sets
  /// their `outcomes`; a refused record fails alone.
  func send(
    _ batch: DestinationBatch, pending: [Int], outcomes: inout [RecordOutcome?], to table: Table,
    trace: DestinationTrace?) throws
  /// Reports to `trace` what `send` would run for the `pending` records, and writes nothing.
  func describe(_ batch: DestinationBatch, pending: [Int], to table: Table, trace: DestinationTrace) throws
  /// Empties the table.
  func clear(_ table: Table) throws
  /// Mirror's first run: creates the temporary table of match values to keep on this connection.
  func startSweep(_ table: Table, matchField: String) throws
  func keep(_ keys: [JSONValue], table: Table, matchField: String) throws
  /// Deletes the records whose match value was not kept (NULL ones stay) and returns how many.
  func finishSweep(_ table: Table, matchField: String) throws -> Int
  /// Whether the connection is gone, so the next batch connects again.
  var isLost: Bool { get }
}

/// A table as `TableSession.resolve` found it.
public protocol TableDestinationTable: Sendable {
  /// The table as the user wrote it (`object:`), for messages.
  var object: String { get }
  /// The columns written, named as the table spells them.
  var columns: TableColumns { get }
}
