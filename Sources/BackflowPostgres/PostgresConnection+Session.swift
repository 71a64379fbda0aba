import Foundation

/// A session made recognizable for a moment: its backend process and a random `application_name`.
///
/// Another connection that finds both in its own `pg_stat_activity`, on its own database, is on
/// the same server and the same database, whatever each was given to connect (a socket or an
/// address, `localhost` or a name, a replica has its own sessions). `pg_stat_activity` shows the
/// process, database and application name of every session to every role, so no privilege is
/// needed, unlike `pg_control_system()`.
public struct PostgresSessionMark: Sendable, Equatable {
  public var pid: Int
  public var applicationName: String
}

extension PostgresConnection {
  /// Runs `body` with this session marked, and restores its `application_name` afterwards.
  public func withSessionMark<Result>(_ body: (PostgresSessionMark) throws -> Result) throws -> Result {
    guard let row = try query("SELECT pg_backend_pid(), current_setting('application_name')").first,
      let pid = row[0].flatMap({ Int($0) })
    else {
      throw PostgresError(message: "the server did not report its backend process")
    }
    let previous = row[1] ?? ""
    let mark = PostgresSessionMark(pid: pid, applicationName: "backflow-" + UUID().uuidString.lowercased())
    try execute("SELECT set_config('application_name', $1, false)", [mark.applicationName])
    defer { _ = try? execute("SELECT set_config('application_name', $1, false)", [previous]) }
    return try body(mark)
  }

  /// Whether the session `mark` names is connected to this connection's database on this server.
  public func sees(_ mark: PostgresSessionMark) throws -> Bool {
    let rows = try query(
      """
      SELECT count(*) FROM pg_stat_activity
      WHERE pid = $1 AND application_name = $2 AND datname = current_database()
      """, [String(mark.pid), mark.applicationName])
    return rows.first?.first == "1"
  }
}
