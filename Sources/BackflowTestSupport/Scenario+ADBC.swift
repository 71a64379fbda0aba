import Foundation

extension Scenario {
  /// Reads the `warehouse` source through the real ADBC driver for its backend
  /// (`adbc_driver_postgresql` or `adbc_driver_sqlite` from the test venv) instead of natively.
  public func useADBCSource() throws {
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
    let source = "  warehouse: { type: adbc, driver: \(driver), dialect: \(backend.rawValue), options: { uri: \"${WAREHOUSE_URI}\" } }"
    write(["backflow.yaml": project.replacingOccurrences(of: native, with: source)])
  }
}
