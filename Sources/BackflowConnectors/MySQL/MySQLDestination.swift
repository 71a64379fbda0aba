import BackflowDestinations

/// A MySQL or MariaDB table as a destination: the shared table connector over MySQL sessions.
/// Up to `concurrency` batches run at once, each on a connection of its own.
typealias MySQLDestination = TableDestination<MySQLDestinationSession>

extension TableDestination where Session == MySQLDestinationSession {
  convenience init(settings: MySQLSettings, target: DestinationTarget) {
    self.init(target: target, connections: target.concurrency, label: "backflow.mysql-destination") {
      try MySQLDestinationSession(settings: settings)
    }
  }
}
