import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// Values read through `${…}` never appear in diagnostics or serialised config.
@Suite("secrets")
struct SecretTests {
  let environment = [
    "WAREHOUSE_URL": "postgres://loader:pa55-w0rd@warehouse/analytics",
    "CRM_TOKEN": "tok-9f8e7d6c",
    "BAD_RETRIES": "retries-9f8e7d6c",
    "BAD_KIND": "kind-9f8e7d6c",
    "BAD_STATE": "mysql://state-9f8e7d6c",
    "BAD_ZONE": "Zone/9f8e7d6c",
  ]
  var secretValues: [String] { Array(environment.values) + ["pa55-w0rd", "9f8e7d6c"] }

  let project = """
    version: 1
    state: ${BAD_STATE}
    sources:
      warehouse: { type: postgres, url: "${WAREHOUSE_URL}" }
    destinations:
      api:
        type: http
        url: "http://127.0.0.1:8080"
        retries: ${BAD_RETRIES}
        headers: { Authorization: "Bearer ${CRM_TOKEN}" }
      other: { type: "${BAD_KIND}" }

    """

  @Test func invalidSecretValuesAreReportedWithoutTheValue() {
    let loaded = ProjectFixture.load([
      "backflow.yaml": project,
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: id\ntable: users\n",
      "syncs/s.yaml": DiagnosticCase.sync("schedule: { cron: \"@daily\", timezone: \"${BAD_ZONE}\" }").replacingOccurrences(of: "local", with: "api"),
    ], environment: environment)
    let messages = loaded.diagnostics.sorted.map(\.description)
    #expect(
      messages == [
        "backflow.yaml:2:8: error: state: must be sqlite:PATH, a postgres:// URL or a libpq key=value string (host=… dbname=…), got the value read from the environment",
        "backflow.yaml:9:14: error: destinations.api.retries must be a whole number, got the value read from the environment",
        "backflow.yaml:11:18: error: destinations.other.type cannot read the environment: names, references and fixed choices are written out",
        "syncs/s.yaml:5:39: error: schedule.timezone the value read from the environment is not an IANA time zone like Europe/Berlin or America/New_York",
      ])
    for message in messages {
      for secret in secretValues { #expect(!message.contains(secret)) }
    }
  }

  @Test func serialisedConfigRedactsEverySecret() throws {
    let loaded = ProjectFixture.load([
      "backflow.yaml": project.replacingOccurrences(of: "state: ${BAD_STATE}\n", with: "")
        .replacingOccurrences(of: "retries: ${BAD_RETRIES}", with: "retries: 3")
        .replacingOccurrences(of: "  other: { type: \"${BAD_KIND}\" }\n", with: ""),
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: id\ntable: users\n",
      "syncs/s.yaml": DiagnosticCase.sync("mappings:\n  - { value: \"${CRM_TOKEN}\", to: token }").replacingOccurrences(of: "local", with: "api"),
    ], environment: environment)
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all)")
    // The values were read: the secret is in memory for the connectors, not in the output.
    #expect(loaded.project.sources.first?.settings.secrets == [environment["WAREHOUSE_URL"]].compactMap { $0 })

    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let json = String(decoding: try encoder.encode(loaded.project), as: UTF8.self)
    for secret in secretValues { #expect(!json.contains(secret), "\(secret) leaked into \(json)") }
    // Secrets serialise as written, naming the variable and never its value.
    #expect(json.contains("\"url\":\"${WAREHOUSE_URL}\""))
    #expect(json.contains("\"value\":\"Bearer ${CRM_TOKEN}\""))
    #expect(json.contains("\"value\":\"${CRM_TOKEN}\""))
    #expect(json.contains("\"retries\":3"))
  }
}
