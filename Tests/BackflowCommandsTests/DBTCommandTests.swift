import BackflowTestSupport
import Foundation
import Testing

/// A dbt project built for real (`dbt build` from PyPI's dbt-core and dbt-postgres, in the virtual
/// environment scripts/test-venv.sh makes) on the test PostgreSQL feeds syncs end to end. dbt is
/// slow to start, so one test runs it twice: the first build, and the build of a changed model.
@Suite("dbt models, built by dbt")
struct DBTCommandTests {
  static let dbtProject = [
    "analytics/dbt_project.yml": """
      name: shop
      version: "1.0"
      profile: shop
      model-paths: [models]
      seed-paths: [seeds]

      """,
    "analytics/seeds/raw_customers.csv": "id,email,name,plan\n1,ada@example.com,Ada,pro\n2,bob@example.com,Bob,free\n3,cy@example.com,Cy,pro\n",
    "analytics/models/customers.sql": "select id as customer_id, email, name as first_name, plan from {{ ref('raw_customers') }}\n",
    "analytics/models/paying.sql": "select * from {{ ref('customers') }} where plan = 'pro'\n",
    // customers is keyed by its tests, paying by meta.primary_key.
    "analytics/models/schema.yml": """
      version: 2
      models:
        - name: customers
          config: { alias: dim_customers }
          columns:
            - name: customer_id
              data_tests: [unique, not_null]
            - name: email
        - name: paying
          config:
            meta: { primary_key: email }

      """,
  ]

  static func backflowFiles(state: String) -> [String: String] {
    [
      "backflow.yaml": """
        version: 1
        state: \(state)
        sources:
          warehouse: { type: postgres, url: "${WAREHOUSE_URL}" }
        destinations:
          local: { type: sqlite, path: crm.db }
        dbt:
          project: analytics
          source: warehouse

        """,
      "syncs/models/customers.yaml": "dbt: customers\n",
      "syncs/to_crm.yaml": "model: customers\ndestination: local\nobject: contacts\nmatch: { email: email }\n"
        + "mappings:\n  - { from: first_name, to: first_name }\n  - { from: plan, to: tier }\n",
      "syncs/pro_to_crm.yaml": "model: { dbt: paying }\ndestination: local\nobject: pro_contacts\nmatch: { email: email }\n"
        + "mappings:\n  - { from: first_name, to: first_name }\n",
    ]
  }

  /// Runs `dbt arguments…` in the dbt project with its profile pointed at `database`.
  static func dbt(_ arguments: [String], in project: URL, dbt: URL) throws {
    let process = Process()
    process.executableURL = dbt
    process.arguments = arguments + ["--project-dir", project.path, "--profiles-dir", project.path]
    process.currentDirectoryURL = project
    var environment = ProcessInfo.processInfo.environment
    environment["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    environment["DBT_VERSION_CHECK"] = "false"
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "dbt \(arguments.joined(separator: " ")) failed:\n\(text)")
  }

  /// The virtual environment's `dbt`, made when missing.
  static func dbtExecutable() throws -> URL {
    let root = ProjectFixture.repositoryRoot
    let setup = Process()
    setup.executableURL = URL(fileURLWithPath: "/bin/bash")
    setup.arguments = [root.appendingPathComponent("scripts/test-venv.sh").path]
    setup.standardOutput = FileHandle.nullDevice
    try setup.run()
    setup.waitUntilExit()
    try #require(setup.terminationStatus == 0, "scripts/test-venv.sh failed")
    return root.appendingPathComponent(".venv-test/bin/dbt")
  }

  @Test func aDBTProjectBuiltForRealFeedsSyncsAndAChangedModelReachesTheNextPlan() async throws {
    guard TestEnvironment.postgresURL != nil else { return }
    let scenario = try Scenario(.postgres, label: "dbt")
    let postgres = try #require(scenario.postgres)
    let environment = ProcessInfo.processInfo.environment
    scenario.write(Self.dbtProject)
    scenario.write([
      "analytics/profiles.yml": """
        shop:
          target: test
          outputs:
            test:
              type: postgres
              host: 127.0.0.1
              port: \(environment["PGPORT"] ?? "5432")
              user: \(environment["PGUSER"] ?? "postgres")
              password: ""
              dbname: \(postgres.name)
              schema: analytics
              threads: 1

        """
    ])
    try scenario.remove("syncs/users_to_crm.yaml")
    try scenario.remove("syncs/models/users.yaml")
    scenario.write(Self.backflowFiles(state: postgres.url))
    try scenario.crm("create table pro_contacts (email text primary key, first_name text)")
    let analytics = scenario.directory.appendingPathComponent("analytics")
    // dbt and pip take seconds: on threads of their own, not the few every test's tasks share.
    let dbt = try await onThreadOfItsOwn { try Self.dbtExecutable() }
    func backflow(_ arguments: [String]) throws -> BackflowProcess.Output {
      try BackflowProcess.run(arguments, in: scenario.directory, environment: scenario.environment)
    }

    // Before dbt has built anything, there is no manifest to read.
    let unbuilt = try backflow(["validate"])
    #expect(unbuilt.status == 1)
    #expect(unbuilt.stdout.contains(
      "backflow.yaml:8:3: error: the dbt manifest analytics/target/manifest.json does not exist; run `dbt build` "
        + "(or `dbt parse`) in analytics first, which writes it"), "\(unbuilt.stdout)")

    try await onThreadOfItsOwn { try Self.dbt(["build"], in: analytics, dbt: dbt) }
    let valid = try backflow(["validate"])
    #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
    let plan = try backflow(["plan"])
    #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
    #expect(plan.stdout.contains("    dbt:customers → analytics.dim_customers\n"), "\(plan.stdout)")
    #expect(plan.stdout.contains("    dbt:paying → analytics.paying\n"), "\(plan.stdout)")

    // --select dbt:customers runs the syncs on that dbt model and no other.
    let applied = try backflow(["apply", "--select", "dbt:customers", "--auto-approve"])
    #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
    #expect(try scenario.crmRows("select email, first_name, tier from contacts order by email") == [
      ["ada@example.com", "Ada", "pro"], ["bob@example.com", "Bob", "free"], ["cy@example.com", "Cy", "pro"],
    ])
    #expect(try scenario.crmRows("select count(*) from pro_contacts") == [["0"]])
    let paying = try backflow(["apply", "--select", "dbt:paying", "--auto-approve"])
    #expect(paying.status == 0, "\(paying.stdout)\(paying.stderr)")
    #expect(try scenario.crmRows("select email from pro_contacts order by email") == [["ada@example.com"], ["cy@example.com"]])
    let unknown = try backflow(["plan", "--select", "dbt:customer"])
    #expect(unknown.status == 1)
    #expect(unknown.stderr.contains("--select: no sync reads the dbt model \"customer\"; did you mean \"dbt:customers\"?"), "\(unknown.stderr)")

    // The dbt model changes: until dbt builds it again the manifest is stale, then the next plan
    // sees the new rows.
    scenario.write([
      "analytics/models/customers.sql":
        "select id as customer_id, email, upper(name) as first_name, plan from {{ ref('raw_customers') }}\n"
    ])
    let stale = try backflow(["plan"])
    #expect(stale.status == 1)
    #expect(stale.stderr.contains(
      "the dbt manifest analytics/target/manifest.json is stale: analytics/models/customers.sql changed after it was "
        + "written; run `dbt build` (or `dbt parse`) in analytics again"), "\(stale.stderr)")
    try await onThreadOfItsOwn { try Self.dbt(["build", "--select", "customers"], in: analytics, dbt: dbt) }
    let changed = try backflow(["plan", "--select", "dbt:customers", "--detailed-exitcode"])
    #expect(changed.status == 2, "\(changed.stdout)\(changed.stderr)")
    #expect(changed.stdout.contains("0 to add, 3 to change, 0 to remove"), "\(changed.stdout)")
    let reapplied = try backflow(["apply", "--select", "dbt:customers", "--auto-approve"])
    #expect(reapplied.status == 0, "\(reapplied.stdout)\(reapplied.stderr)")
    #expect(try scenario.crmRows("select first_name from contacts order by email") == [["ADA"], ["BOB"], ["CY"]])
  }
}
