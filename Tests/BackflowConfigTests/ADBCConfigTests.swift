import BackflowConfig
import BackflowConnectors
import BackflowTestSupport
import Foundation
import Testing

/// The adbc driver's keys: a dialect implied by the driver's name or required, options as
/// strings, and secrets (from the environment, in URIs, in options named for them) never stored.
@Suite("adbc config")
struct ADBCConfigTests {
  func load(_ source: String, environment: [String: String] = [:]) -> LoadedProject {
    ProjectFixture.load(
      [
        "backflow.yaml": ProjectFixture.projectFile.replacingOccurrences(
          of: "sources:\n", with: "sources:\n  lake: \(source)\n")
      ], environment: environment)
  }

  func settingsJSON(_ loaded: LoadedProject) throws -> String {
    let source = try #require(loaded.project.sources.first { $0.name.value == "lake" })
    return try JSONValue(encoding: source).rendered(compact: true)
  }

  @Test func theDialectFollowsTheDriversName() throws {
    let loaded = load("{ type: adbc, driver: adbc_driver_snowflake, options: { uri: \"${SNOWFLAKE_URI}\" } }",
      environment: ["SNOWFLAKE_URI": "user:pw@account/db"])
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    let json = try settingsJSON(loaded)
    #expect(json.contains(#""dialect":"snowflake""#) && json.contains("${SNOWFLAKE_URI}"), "\(json)")
    #expect(!json.contains("user:pw"), "\(json)")
  }

  @Test func passwordsWrittenInTheFileAreMasked() throws {
    let loaded = load(
      "{ type: adbc, driver: adbc_driver_postgresql, options: { uri: \"postgresql://app:hunter2@db/x\", "
        + "adbc.example.token: s3cret, adbc.example.warehouse: WH } }")
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    let source = try #require(loaded.project.sources.first { $0.name.value == "lake" })
    #expect(Set(source.settings.secrets) == ["hunter2", "s3cret"])
    let json = try settingsJSON(loaded)
    #expect(!json.contains("hunter2") && !json.contains("s3cret") && json.contains("WH"), "\(json)")
  }

  @Test func aDriverPathNeedsADialect() throws {
    let loaded = load("{ type: adbc, driver: ./lib/libcustom.so }")
    let error = try #require(loaded.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.location.file == "backflow.yaml" && error.location.line == 3, "\(error)")
    #expect(error.message.contains("sources.lake.driver: the engine behind this driver cannot be told from its name; add dialect:"), "\(error)")
  }

  @Test func anUnknownDialectIsReportedWhereItIsWritten() throws {
    let loaded = load("{ type: adbc, driver: adbc_driver_flightsql, dialect: sparkk }")
    let error = try #require(loaded.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.location.line == 3 && error.location.column == 63, "\(error)")
    #expect(error.message.contains(#"sources.lake.dialect must be one of postgres, sqlite, snowflake, bigquery, spark, duckdb, flightsql, got "sparkk"; did you mean "spark"?"#), "\(error)")
  }
}
