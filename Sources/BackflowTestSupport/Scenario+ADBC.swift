import BackflowADBC
import Foundation

extension Scenario {
  /// Reads the `warehouse` source through the real ADBC driver for its backend
  /// (`adbc_driver_postgresql` or `adbc_driver_sqlite` from the test venv) instead of natively,
  /// with warehouse planning in `planning` when given.
  public func useADBCSource(planning: String? = nil) throws {
    let file = directory.appendingPathComponent("backflow.yaml")
    let project = try String(contentsOf: file, encoding: .utf8)
    guard let native = project.split(separator: "\n").first(where: { $0.hasPrefix("  warehouse: ") }) else {
      throw ScenarioError("backflow.yaml has no warehouse source")
    }
    let driver: String
    switch backend {
    case .postgres:
      environment["WAREHOUSE_URI"] = postgres?.url
      driver = try ADBCTestDrivers.library("adbc_driver_postgresql")
    case .sqlite:
      environment["WAREHOUSE_URI"] = directory.appendingPathComponent("warehouse.db").path
      driver = try ADBCTestDrivers.library("adbc_driver_sqlite")
    }
    let source = "  warehouse: { type: adbc, driver: \(driver), dialect: \(backend.rawValue), options: { uri: \"${WAREHOUSE_URI}\" }"
      + (planning.map { ", planning: { schema: \($0) }" } ?? "") + " }"
    write(["backflow.yaml": project.replacingOccurrences(of: native, with: source)])
  }

  /// Reads the `users` model from table `table` on the Spark Connect server `make test` starts,
  /// through the real `adbc_driver_spark`, creating that table (Parquet) empty; with warehouse
  /// planning in schema `planning` when given.
  public func useSparkSource(table: String, planning: String? = nil) throws {
    let uri = try TestEnvironment.sparkURI ?? { throw ScenarioError("no Spark Connect server") }()
    let file = directory.appendingPathComponent("backflow.yaml")
    let project = try String(contentsOf: file, encoding: .utf8)
    let driver = try ADBCTestDrivers.library("adbc_driver_spark")
    write([
      "backflow.yaml": project.replacingOccurrences(
        of: "sources:\n",
        with: "sources:\n  lake: { type: adbc, driver: \(driver), dialect: spark, options: { uri: \"\(uri)\" }"
          + (planning.map { ", planning: { schema: \($0) }" } ?? "") + " }\n"),
      "syncs/models/users.yaml":
        "source: lake\nprimary_key: user_id\nquery: select user_id, email, first_name, plan from \(table)\n",
    ])
    try spark("CREATE TABLE \(table) (user_id INT, email STRING, first_name STRING, plan STRING) USING parquet")
  }

  /// Runs each statement on the Spark Connect server.
  public func spark(_ statements: String...) throws {
    let connection = try sparkConnection()
    for statement in statements { try connection.execute(statement) }
  }

  /// The rows of a query on the Spark Connect server, each value as text.
  public func sparkRows(_ query: String) throws -> [[String?]] {
    try sparkConnection().textRows(query)
  }

  private func sparkConnection() throws -> ADBCConnection {
    let uri = try TestEnvironment.sparkURI ?? { throw ScenarioError("no Spark Connect server") }()
    let driver = try ADBCDriver.load(path: ADBCTestDrivers.library("adbc_driver_spark"))
    return try ADBCDatabase(driver: driver, options: [("uri", uri)], redact: { $0 }).connect()
  }
}
