import BackflowConfig
import Foundation

/// A table in a SQLite database file (`object: contacts`) as a destination.
///
/// Each batch is one transaction with one reused statement per record, so a record SQLite
/// refuses fails alone, with SQLite's message, and the others land
/// (`SQLiteDestinationSession`). SQLite has one writer at a time, so batches run one after
/// another on one connection, whatever the sync's `concurrency`.
public typealias SQLiteDestination = TableDestination<SQLiteDestinationSession>

extension TableDestination where Session == SQLiteDestinationSession {
  /// `path` is the database file, absolute; it must exist.
  public convenience init(path: String, target: DestinationTarget) {
    self.init(target: target, connections: 1, label: "backflow.sqlite-destination") {
      try SQLiteDestinationSession(path: path, target: target)
    }
  }
}
