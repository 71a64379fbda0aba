import BackflowSQLite
import BackflowTestSupport
import Foundation
import Testing

/// A `type: adbc` source as a new user sets one up: `pip install adbc-driver-sqlite` (here, the
/// test venv's python3 first on the PATH), a source naming the driver, then validate, plan, apply.
@Suite("adbc source from the command line")
struct ADBCCommandTests {
  func project(in directory: URL) throws {
    let warehouse = directory.appendingPathComponent("warehouse.db").path
    try SQLiteDatabase(path: warehouse).execute(
      "create table users (user_id integer, email text, first_name text);"
        + " insert into users values (1, 'ada@example.com', 'Ada'), (2, 'grace@example.com', 'Grace')")
    try SQLiteDatabase(path: directory.appendingPathComponent("crm.db").path).execute(
      "create table contacts (email text primary key, first_name text)")
    ProjectFixture.write(
      [
        "backflow.yaml": """
          version: 1
          sources:
            lake: { type: adbc, driver: adbc_driver_sqlite, options: { uri: "\(warehouse)" } }
          destinations:
            local: { type: sqlite, path: crm.db }

          """,
        "syncs/models/users.yaml": "source: lake\nprimary_key: user_id\nquery: select user_id, email, first_name from users\n",
        "syncs/users_to_crm.yaml":
          "model: users\ndestination: local\nobject: contacts\nmatch: { email: email }\nmappings:\n  - { from: first_name, to: first_name }\n",
      ], into: directory, over: [:])
  }

  @Test func validatePlanAndApplyWithTheDriverFoundByName() throws {
    try withTemporaryDirectory { directory in
      try project(in: directory)
      let environment = ["PATH": try ADBCTestDrivers.environment()["PATH"] ?? ""]
      let validate = try BackflowProcess.run(["validate"], in: directory, environment: environment)
      #expect(validate.status == 0, "\(validate.stderr)")
      let plan = try BackflowProcess.run(["plan"], in: directory, environment: environment)
      #expect(plan.status == 0 && plan.stdout.contains("2 to add"), "\(plan.stdout)\(plan.stderr)")
      let apply = try BackflowProcess.run(["apply", "--auto-approve"], in: directory, environment: environment)
      #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
      #expect(
        try SQLiteDatabase(path: directory.appendingPathComponent("crm.db").path)
          .query("select email, first_name from contacts order by email")
          == [["ada@example.com", "Ada"], ["grace@example.com", "Grace"]])
    }
  }

  @Test func aDriverThatIsNotInstalledSaysWhereItLookedAndWhatToInstall() throws {
    try withTemporaryDirectory { directory in
      try project(in: directory)
      let plan = try BackflowProcess.run(["plan"], in: directory, environment: ["PATH": "/nonexistent"])
      let output = plan.stdout + plan.stderr
      #expect(plan.status == 1, "\(output)")
      #expect(output.contains("backflow.yaml:3:"), "\(output)")
      #expect(output.contains("the ADBC driver adbc_driver_sqlite was not found"), "\(output)")
      #expect(output.contains("python3 on the PATH (there is none)"), "\(output)")
      #expect(output.contains("pip install adbc-driver-sqlite"), "\(output)")
    }
  }
}
