import BackflowMySQL
import Foundation

/// A database of its own on the MySQL test server, so tests can run in parallel.
public struct MySQLDatabase: Sendable {
  /// `mysql://USER:PASSWORD@HOST:PORT/NAME`.
  public let url: String
  public let name: String

  /// Creates an empty database named after `label`; requires the test server.
  public static func create(_ label: String) throws -> MySQLDatabase {
    guard let base = TestEnvironment.mysqlURL, var components = URLComponents(string: base) else {
      throw MySQLError(message: "no MySQL test server")
    }
    let name = "bf_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    try MySQLConnection(url: base).execute("CREATE DATABASE \(name)")
    components.path = "/" + name
    return MySQLDatabase(url: components.string ?? base, name: name)
  }

  public func connect() throws -> MySQLConnection {
    try MySQLConnection(url: url)
  }

  /// Runs each statement (MySQL takes one per call).
  public func execute(_ statements: String...) throws {
    let connection = try connect()
    for statement in statements { try connection.execute(statement) }
  }

  public func query(_ sql: String) throws -> [[String?]] {
    try connect().query(sql)
  }
}

extension Scenario {
  /// A MySQL database of its own holding `contacts` as the CRM's table, declared as destination
  /// `crm_mysql` with its URL read from `CRM_MYSQL_URL`.
  public func addMySQLCRM(
    table: String = "create table contacts (email varchar(255) primary key, first_name varchar(100), tier varchar(20))"
  ) throws -> MySQLDatabase {
    let database = try MySQLDatabase.create("crm")
    try database.execute(table)
    environment["CRM_MYSQL_URL"] = database.url
    try addDestination("crm_mysql: { type: mysql, url: \"${CRM_MYSQL_URL}\" }")
    return database
  }
}
