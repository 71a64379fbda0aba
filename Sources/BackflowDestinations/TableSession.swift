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
  /// Creates the temporary table of match values to keep on this connection: for mirror's first
  /// run, and for drift's count of records that should not be there.
  func startSweep(_ table: Table, matchField: String) throws
  func keep(_ keys: [JSONValue], table: Table, matchField: String) throws
  /// Deletes the records whose match value was not kept (NULL ones stay) and returns how many.
  func finishSweep(_ table: Table, matchField: String) throws -> Int
  /// Drift: how many records have a match value that was not kept (NULL ones are not counted),
  /// and the first `sample` of those values in the table's order, as the database prints them.
  func unkept(_ table: Table, matchField: String, sample: Int) throws -> (count: Int, sample: [String?])
  /// Drift: the stored record each of `records` matches by its match value, `nil` where none does;
  /// one per record, in order. The database compares the fields as it compares what it stores.
  func readBack(_ records: [DestinationRecord], from table: Table, matchField: String) throws -> [StoredRecord?]
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

/// A stored record next to what Backflow wrote, per settable field (`TableColumns.settable`):
/// whether the database holds the same value, and both as it prints them (`nil` for NULL).
public struct StoredRecord: Sendable, Equatable {
  public var same: [Bool]
  public var stored: [String?]
  public var written: [String?]

  public init(same: [Bool], stored: [String?], written: [String?]) {
    self.same = same
    self.stored = stored
    self.written = written
  }
}
