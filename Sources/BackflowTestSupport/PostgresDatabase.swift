import BackflowPostgres
import Foundation

/// A database of its own on the test server, so tests that use the fixed `backflow_state` schema
/// can run in parallel.
public struct PostgresDatabase: Sendable {
  /// A libpq key=value string for the new database.
  public let conninfo: String
  /// A `postgresql:///NAME` URL; host, port and user come from the PG* variables the test
  /// command exports.
  public let url: String
  public let name: String

  /// Creates an empty database named after `label`; requires the test server.
  public static func create(_ label: String) throws -> PostgresDatabase {
    guard let base = TestEnvironment.postgresURL else { throw PostgresError(message: "no test server") }
    let name = "bf_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    try PostgresConnection(conninfo: base).execute("CREATE DATABASE \(name)")
    return PostgresDatabase(conninfo: "\(base) dbname=\(name)", url: "postgresql:///\(name)", name: name)
  }

  public func connect() throws -> PostgresConnection {
    try PostgresConnection(conninfo: conninfo)
  }
}
