import Foundation

extension Scenario {
  /// A scenario holding the rest presets' project (examples/rest) and only the sync `name`, every
  /// API at `server` and every credential `secret`. The preset files are used as they are; only
  /// the warehouse becomes the scenario's SQLite file, holding `users`.
  public static func restPreset(
    _ name: String, server: ProtocolServer, secret: String, users: [(Int, String, String, String)]
  ) throws -> Scenario {
    let scenario = try Scenario(.sqlite)
    let presets = ProjectFixture.repositoryRoot.appendingPathComponent("examples/rest")
    func read(_ path: String) throws -> String {
      try String(contentsOf: presets.appendingPathComponent(path), encoding: .utf8)
    }
    let project = try read("backflow.yaml").replacingOccurrences(
      of: #"warehouse: { type: postgres, url: "${WAREHOUSE_URL}" }"#, with: "warehouse: { type: sqlite, path: warehouse.db }")
    try scenario.remove("syncs/users_to_crm.yaml")
    scenario.write([
      "backflow.yaml": project, "syncs/models/users.yaml": try read("syncs/models/users.yaml"),
      "syncs/\(name).yaml": try read("syncs/\(name).yaml"),
    ])
    for api in ["HUBSPOT", "BRAZE", "SLACK", "SALESFORCE", "CUSTOMERIO", "MAILCHIMP"] {
      scenario.environment["\(api)_URL"] = server.url
    }
    for variable in [
      "HUBSPOT_TOKEN", "BRAZE_API_KEY", "SALESFORCE_CLIENT_SECRET", "CUSTOMERIO_API_KEY", "MAILCHIMP_API_KEY",
      "SLACK_WEBHOOK_KEY",
    ] {
      scenario.environment[variable] = variable == "SLACK_WEBHOOK_KEY" ? "T0001/B0001/\(secret)" : secret
    }
    scenario.environment["SALESFORCE_CLIENT_ID"] = "3MVG9-client"
    scenario.environment["CUSTOMERIO_SITE_ID"] = "site-7"
    try scenario.insert(users)
    try scenario.sql("alter table users add column created_at text")
    try scenario.sql("update users set created_at = '2026-03-0' || user_id || 'T09:30:00Z'")
    return scenario
  }
}
