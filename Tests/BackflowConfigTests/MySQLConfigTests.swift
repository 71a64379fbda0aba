import BackflowConfig
import BackflowConnectors
import BackflowTestSupport
import Foundation
import Testing

/// The mysql driver's keys: a URL checked where it is written, and a password in it never stored.
@Suite("mysql config")
struct MySQLConfigTests {
  func load(_ destination: String, environment: [String: String] = [:]) -> LoadedProject {
    ProjectFixture.load(
      ["backflow.yaml": ProjectFixture.projectFile + "  shop: \(destination)\n"], environment: environment)
  }

  /// Masked in the stored config as every URL is (SecretRedactionTests); here, kept out of messages.
  @Test func aPasswordWrittenInTheURLIsASecret() throws {
    let loaded = load("{ type: mysql, url: \"mysql://backflow:hunter2@db.internal:3307/crm\" }")
    #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.all)")
    let destination = try #require(loaded.project.destinations.first { $0.name.value == "shop" })
    #expect(destination.settings.secrets == ["hunter2"])
  }

  @Test func aURLFromTheEnvironmentIsStoredAsWritten() throws {
    let loaded = load("{ type: mysql, url: \"${CRM_MYSQL_URL}\" }", environment: ["CRM_MYSQL_URL": "mysql://u:pw@h/db"])
    let destination = try #require(loaded.project.destinations.first { $0.name.value == "shop" })
    #expect(destination.settings.secrets.contains("mysql://u:pw@h/db"))
    #expect(try JSONValue(encoding: destination).rendered(compact: true).contains("${CRM_MYSQL_URL}"))
  }

  @Test(arguments: [
    ("postgresql://h/db", "must be a mysql://USER:PASSWORD@HOST:PORT/DATABASE URL"),
    ("mysql://u:hunter2@h:99999/db", "the port of a MySQL URL must be between 1 and 65535"),
  ])
  func aBadURLIsReportedAtItsValue(url: String, message: String) throws {
    let loaded = load("{ type: mysql, url: \"\(url)\" }")
    let error = try #require(loaded.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.location.file == "backflow.yaml" && error.location.line == 8 && error.location.column == 29, "\(error)")
    #expect(error.message.contains("destinations.shop.url: \(message)"), "\(error)")
    #expect(!error.message.contains("hunter2"), "\(error)")
  }

  @Test func syncLogsCannotGoToAMySQLSource() throws {
    let loaded = ProjectFixture.load([
      "backflow.yaml": ProjectFixture.projectFile.replacingOccurrences(
        of: "sources:\n", with: "sources:\n  shop: { type: mysql, url: \"mysql://u@h/db\" }\n")
        + "sync_logs: { source: shop }\n"
    ])
    let error = try #require(loaded.diagnostics.sorted.first { $0.severity == .error })
    #expect(error.message.contains("sync_logs.source shop is a mysql source"), "\(error)")
  }
}
