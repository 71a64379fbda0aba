import Foundation

/// An alert that is open: its condition held after a run and has not stopped holding since.
public struct AlertRecord: Sendable, Equatable {
  public var syncID: Int
  public var syncName: String
  /// The condition (`when`): failure, rejected_rows, volume_drop or slow.
  public var alert: String
  public var openedAt: String
  /// The run it opened on; `nil` when the sync could not run.
  public var runID: Int?
  public var figure: String
  public var threshold: String?

  public init(
    syncID: Int, syncName: String, alert: String, openedAt: String, runID: Int?, figure: String, threshold: String?
  ) {
    self.syncID = syncID
    self.syncName = syncName
    self.alert = alert
    self.openedAt = openedAt
    self.runID = runID
    self.figure = figure
    self.threshold = threshold
  }
}

/// A notification waiting to be delivered to a channel, which is named, never resolved: the
/// payload holds what happened, not where it goes or any secret.
public struct PendingNotification: Sendable, Equatable {
  public var id: Int
  public var channel: String
  /// `alert.opened` or `alert.closed`.
  public var event: String
  /// The event as JSON (docs/alerts.md).
  public var payload: String
  public var createdAt: String
  public var attempts: Int
  public var lastError: String?

  public init(
    id: Int, channel: String, event: String, payload: String, createdAt: String, attempts: Int, lastError: String?
  ) {
    self.id = id
    self.channel = channel
    self.event = event
    self.payload = payload
    self.createdAt = createdAt
    self.attempts = attempts
    self.lastError = lastError
  }
}

/// Open alerts and the notifications not yet delivered, shared by every process on the store.
extension StateStore {
  private static let alertColumns = "sync_id, sync_name, alert, opened_at, run_id, figure, threshold"
  private static let notificationColumns = "id, channel, event, payload, created_at, attempts, last_error"

  /// Creates the alert tables when they are missing: in new stores, and in version-1 stores
  /// written before alerts existed.
  func ensureAlertTables() throws {
    guard try !alertTablesExist() else { return }
    let database = try connection
    let dialect = database.dialect
    let create = """
      CREATE TABLE IF NOT EXISTS \(dialect.table("alerts")) (
        sync_id BIGINT NOT NULL,
        sync_name TEXT NOT NULL,
        alert TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        run_id BIGINT,
        figure TEXT NOT NULL,
        threshold TEXT,
        PRIMARY KEY (sync_id, alert)
      );
      CREATE TABLE IF NOT EXISTS \(dialect.table("notifications")) (
        id \(dialect.identityColumn),
        channel TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        claimed_by TEXT,
        claimed_at TEXT
      );
      """
    do {
      try transaction { try database.execute(create) }
    } catch {
      // Two processes creating them at once on PostgreSQL: one of them fails, and they exist.
      guard try alertTablesExist() else { throw error }
    }
  }

  private func alertTablesExist() throws -> Bool {
    try tableExists("notifications")
  }

  /// Open alerts, oldest first: of one sync, or of every sync that is not retired.
  public func openAlerts(syncID: Int? = nil) throws -> [AlertRecord] {
    guard database != nil, exists, try alertTablesExist() else { return [] }
    let alerts = try table("alerts")
    let filter =
      syncID != nil
      ? "WHERE sync_id = $1"
      : "WHERE sync_id IN (SELECT id FROM \(try table("syncs")) WHERE retired_at IS NULL)"
    return try connection.query(
      "SELECT \(Self.alertColumns) FROM \(alerts) \(filter) ORDER BY opened_at, sync_name, alert",
      syncID.map { [String($0)] } ?? []
    ).map { row in
      AlertRecord(
        syncID: Int(row[0] ?? "") ?? 0, syncName: row[1] ?? "", alert: row[2] ?? "", openedAt: row[3] ?? "",
        runID: row[4].flatMap { Int($0) }, figure: row[5] ?? "", threshold: row[6])
    }
  }

  /// Records what a run did to one sync's alerts, in one transaction: alerts opened, alerts
  /// closed (by condition), and the notifications to deliver, each as (channel, event, payload).
  /// The caller holds the sync's lock, so no other process changes that sync's alerts meanwhile.
  public func recordAlertChanges(
    syncID: Int, opened: [AlertRecord], closed: [String], notifications: [(channel: String, event: String, payload: String)]
  ) throws {
    guard !opened.isEmpty || !closed.isEmpty || !notifications.isEmpty else { return }
    let alerts = try table("alerts")
    let outbox = try table("notifications")
    let now = Self.now()
    try transaction {
      for alert in closed {
        try connection.execute("DELETE FROM \(alerts) WHERE sync_id = $1 AND alert = $2", [String(syncID), alert])
      }
      for alert in opened {
        try connection.execute(
          "INSERT INTO \(alerts) (\(Self.alertColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          [
            String(alert.syncID), alert.syncName, alert.alert, alert.openedAt, alert.runID.map(String.init), alert.figure,
            alert.threshold,
          ])
      }
      for notification in notifications {
        try connection.execute(
          "INSERT INTO \(outbox) (channel, event, payload, created_at) VALUES ($1, $2, $3, $4)",
          [notification.channel, notification.event, notification.payload, now])
      }
    }
  }

  /// Notifications waiting for delivery, oldest first.
  public func pendingNotifications() throws -> [PendingNotification] {
    guard database != nil, exists, try alertTablesExist() else { return [] }
    return try connection.query(
      "SELECT \(Self.notificationColumns) FROM \(try table("notifications")) ORDER BY id", []
    ).map(Self.notification)
  }

  /// Takes the notifications no other process is delivering, for `claimant` to deliver, oldest
  /// first. One UPDATE claims them, so two processes never both take one; a claim older than
  /// `staleAfter` belonged to a process that stopped mid-delivery and is taken over.
  public func claimNotifications(claimant: String, staleAfter: TimeInterval = 300) throws -> [PendingNotification] {
    guard database != nil, exists, try alertTablesExist() else { return [] }
    let stale = Date().addingTimeInterval(-staleAfter).formatted(.iso8601)
    let outbox = try table("notifications")
    // Read first: an UPDATE takes SQLite's write lock even when it changes nothing, and most
    // runs have nothing waiting.
    let waiting = try connection.query(
      "SELECT 1 FROM \(outbox) WHERE claimed_by IS NULL OR claimed_at < $1 LIMIT 1", [stale])
    guard !waiting.isEmpty else { return [] }
    return try connection.query(
      """
      UPDATE \(outbox) SET claimed_by = $1, claimed_at = $2
      WHERE claimed_by IS NULL OR claimed_at < $3
      RETURNING \(Self.notificationColumns)
      """, [claimant, Self.now(), stale]
    ).map(Self.notification).sorted { $0.id < $1.id }
  }

  /// Gives a claimed notification back untried, for a later run.
  public func releaseNotification(id: Int) throws {
    try connection.execute(
      "UPDATE \(try table("notifications")) SET claimed_by = NULL, claimed_at = NULL WHERE id = $1", [String(id)])
  }

  /// Removes a notification that was delivered, or given up on.
  public func removeNotification(id: Int) throws {
    try connection.execute("DELETE FROM \(try table("notifications")) WHERE id = $1", [String(id)])
  }

  /// Records a failed attempt and releases the claim, so a later run tries again.
  public func notificationFailed(id: Int, error: String) throws {
    try connection.execute(
      """
      UPDATE \(try table("notifications")) SET attempts = attempts + 1, last_error = $1, claimed_by = NULL,
        claimed_at = NULL WHERE id = $2
      """, [error, String(id)])
  }

  private static func notification(_ row: [String?]) -> PendingNotification {
    PendingNotification(
      id: Int(row[0] ?? "") ?? 0, channel: row[1] ?? "", event: row[2] ?? "", payload: row[3] ?? "",
      createdAt: row[4] ?? "", attempts: Int(row[5] ?? "") ?? 0, lastError: row[6])
  }
}
