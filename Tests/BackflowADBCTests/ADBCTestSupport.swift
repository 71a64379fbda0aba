import BackflowADBC
import BackflowConfig
import BackflowSources
import BackflowTestSupport
import Foundation

/// Opens the real driver `name` from the test venv with `options`.
func database(_ name: String, _ options: [(name: String, value: String)]) throws -> ADBCDatabase {
  let driver = try ADBCDriver.load(path: ADBCTestDrivers.library(name))
  return try ADBCDatabase(driver: driver, options: options, redact: { $0 })
}

/// A model of `sql`, as a `query:` would be.
func model(_ sql: String, on reader: any ModelReader) -> ModelSQL {
  reader.sql(of: .query(Located(sql, at: SourceLocation(file: "models/test.yaml", line: 1, column: 1))))
}

/// Every row of `sql` as the model reader streams it, keyed by `key`.
func rows(_ reader: ADBCModelReader, _ sql: String, key: String = "id", columns: [String]) throws -> [ModelRow] {
  let stream = try reader.rows(of: model(sql, on: reader), key: key, columns: columns)
  var rows: [ModelRow] = []
  while let row = try stream.next() { rows.append(row) }
  return rows
}

/// A new SQLite file in a temporary folder.
func sqliteFile(_ label: String) -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent("backflow-adbc-\(label)-\(UUID().uuidString).db").path
}
