import Foundation

/// What the test command (`make test`, through `scripts/with-postgres.sh` and
/// `scripts/with-mariadb.sh`) tells the tests.
public enum TestEnvironment {
  /// The libpq connection string of a disposable PostgreSQL database, from
  /// `BACKFLOW_TEST_POSTGRES_URL`; `nil` when unset or empty.
  public static var postgresURL: String? {
    nonEmpty("BACKFLOW_TEST_POSTGRES_URL")
  }

  /// Whether `BACKFLOW_REQUIRE_POSTGRES` asks for PostgreSQL tests to fail rather than skip.
  ///
  /// Accepts 1, true and yes, so a hand-written `=true` does not silently turn the guard off.
  public static var requiresPostgres: Bool {
    isYes(environment["BACKFLOW_REQUIRE_POSTGRES"])
  }

  /// The `mysql://` URL of a disposable MySQL or MariaDB database, from
  /// `BACKFLOW_TEST_MYSQL_URL`; `nil` when unset or empty.
  public static var mysqlURL: String? {
    nonEmpty("BACKFLOW_TEST_MYSQL_URL")
  }

  /// Whether `BACKFLOW_REQUIRE_MYSQL` asks for MySQL tests to fail rather than skip; accepts 1,
  /// true and yes, as `requiresPostgres` does.
  public static var requiresMySQL: Bool {
    isYes(environment["BACKFLOW_REQUIRE_MYSQL"])
  }

  /// The `sc://127.0.0.1:PORT` address of the Spark Connect server `scripts/with-spark.sh`
  /// started, from `BACKFLOW_TEST_SPARK_URI`; `nil` when unset or empty.
  public static var sparkURI: String? {
    nonEmpty("BACKFLOW_TEST_SPARK_URI")
  }

  /// Whether `BACKFLOW_REQUIRE_SPARK` asks for Spark tests to fail rather than skip.
  public static var requiresSpark: Bool {
    isYes(environment["BACKFLOW_REQUIRE_SPARK"])
  }

  private static func nonEmpty(_ name: String) -> String? {
    guard let value = environment[name], !value.isEmpty else { return nil }
    return value
  }

  private static func isYes(_ value: String?) -> Bool {
    ["1", "true", "yes"].contains(value?.lowercased() ?? "")
  }

  private static var environment: [String: String] { ProcessInfo.processInfo.environment }
}
