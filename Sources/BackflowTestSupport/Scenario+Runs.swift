/// What tests of run history need: runs with failed rows. (`backflow(_:)`, which runs the
/// built executable in the project, is in Scenario+Steering.swift.)
extension Scenario {
  /// Recreates the CRM's `contacts` so that it rejects every row whose tier is one of `tiers`,
  /// each with SQLite's message "CHECK constraint failed: …", while the rest of a batch arrives.
  public func crmRejects(tiers: [String]) throws {
    let checks = tiers.map { "check (tier <> '\($0)')" }.joined(separator: " ")
    try crm("drop table contacts; create table contacts (email text primary key, first_name text, tier text \(checks))")
  }
}
