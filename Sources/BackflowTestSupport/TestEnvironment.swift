import Foundation

/// What the test command (`make test`, through `scripts/with-postgres.sh`) tells the tests.
public enum TestEnvironment {
  /// The libpq connection string of a disposable PostgreSQL database, from
  /// `BACKFLOW_TEST_POSTGRES_URL`; `nil` when unset or empty.
  public static var postgresURL: String? {
    guard let value = environment["BACKFLOW_TEST_POSTGRES_URL"], !value.isEmpty else { return nil }
    return value
  }

  /// Whether `BACKFLOW_REQUIRE_POSTGRES` asks for PostgreSQL tests to fail rather than skip.
  ///
  /// Accepts 1, true and yes, so a hand-written `=true` does not silently turn the guard off.
  public static var requiresPostgres: Bool {
    let value = environment["BACKFLOW_REQUIRE_POSTGRES"]?.lowercased() ?? ""
    return ["1", "true", "yes"].contains(value)
  }

  private static var environment: [String: String] { ProcessInfo.processInfo.environment }
}
