import BackflowConfig
import BackflowPostgres
import Foundation

/// A PostgreSQL table (`object: crm.contacts`) as a destination.
///
/// Each batch is copied into a temporary table with COPY and merged by one statement in one
/// transaction (or copied straight into the target when it only inserts); a batch the database
/// refuses is split until each refused record fails alone, with PostgreSQL's message, and the
/// others land (`PostgresDestinationSession`). Up to `concurrency` batches run at once.
public typealias PostgresDestination = TableDestination<PostgresDestinationSession>

extension TableDestination where Session == PostgresDestinationSession {
  /// `conninfo` is never shown: it may hold a password.
  public convenience init(conninfo: String, target: DestinationTarget) {
    self.init(target: target, connections: target.concurrency, label: "backflow.postgres-destination") {
      try PostgresDestinationSession(conninfo: conninfo)
    }
  }
}
