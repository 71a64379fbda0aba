import Foundation

/// The files `backflow init` writes: a project that validates as it stands and teaches by comment.
public struct ProjectScaffold: Sendable {
  /// Raised instead of overwriting anything a user already has.
  public struct Conflict: Error, CustomStringConvertible {
    public var paths: [String]
    public var description: String {
      "\(paths.joined(separator: ", ")) already \(paths.count == 1 ? "exists" : "exist"); backflow init only writes into a new project"
    }
  }

  public init() {}

  /// Relative path → contents, in the order they are listed to the user.
  public var files: [(path: String, contents: String)] {
    [
      ("backflow.yaml", Self.projectFile),
      ("syncs/models/customers.yaml", Self.modelFile),
      ("syncs/customers_to_csv.yaml", Self.syncFile),
      (".gitignore", ".backflow/\nout/\n"),
    ] + Schemas.all.map { ("schemas/\($0.name)", $0.contents) }
  }

  /// Writes every file, or none when any already exists. Returns the paths written.
  public func write(into directory: URL) throws -> [String] {
    let manager = FileManager.default
    let existing = files.map(\.path).filter {
      manager.fileExists(atPath: directory.appendingPathComponent($0).path)
    }
    guard existing.isEmpty else { throw Conflict(paths: existing) }
    for (path, contents) in files {
      let url = directory.appendingPathComponent(path)
      try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(contents.utf8).write(to: url, options: .atomic)
    }
    return files.map(\.path)
  }

  static let projectFile = """
    # yaml-language-server: $schema=schemas/project.schema.json
    # Backflow project: connections and where state lives. Reference: docs/config.md.
    version: 1
    state: sqlite:.backflow/state.db   # or a postgres:// URL so CI runners share state

    sources:
      # Where models are queried. A PostgreSQL warehouse reads its URL from the environment:
      #   warehouse: { type: postgres, url: "${WAREHOUSE_URL}" }
      warehouse:
        type: sqlite
        path: warehouse.db

    destinations:
      # Where syncs send rows. Others: postgres (url), sqlite (path), mysql (url), http (url, headers).
      exports:
        type: file
        dir: out
        format: csv

    # Alerts after every run (docs/alerts.md). Open alerts live in the state store; one message
    # when an alert opens, none while it stays open, a recovery notice when it closes.
    # notifications:
    #   oncall: { type: slack, webhook: "${SLACK_WEBHOOK}" }
    #   hooks: { type: webhook, url: "https://alerts.example.com/backflow", secret: "${ALERT_SECRET}" }
    #   team: { type: email, smtp: "${SMTP_URL}", from: backflow@example.com, to: [data@example.com] }
    # alerts:                        # every sync's; a sync's own alerts: replace these by when
    #   - { when: failure, notify: [oncall] }                             # the run stopped with an error
    #   - { when: rejected_rows, threshold: 5%, notify: [oncall] }        # failed / attempted rows
    #   - { when: volume_drop, threshold: 50%, runs: 5, notify: [oncall] } # rows queried vs the last 5 runs
    #   - { when: slow, threshold: 10m, notify: [oncall] }                # run duration

    # dbt models (docs/dbt.md): a model file may say `dbt: customers` instead of query or table, and
    # read the relation dbt built for it, named by the dbt project's target/manifest.json.
    # dbt:
    #   project: ../analytics          # the dbt project's directory (holds dbt_project.yml)
    #   manifest: target/manifest.json # default; relative to project
    #   source: warehouse              # the source where dbt builds its relations
    # In CI, build one dbt model and send what changed in it:
    #   dbt build --select customers && backflow apply --select dbt:customers --auto-approve

    """

  static let modelFile = """
    # yaml-language-server: $schema=../../schemas/model.schema.json
    # A model is a query (or a table, or a dbt model: `dbt: customers`) whose rows syncs keep
    # destinations in step with.
    source: warehouse
    primary_key: customer_id       # one row per key; CDC compares rows by it
    query: |
      select customer_id, email, name, plan
      from customers

    """

  static let syncFile = """
    # yaml-language-server: $schema=../schemas/sync.schema.json
    # A sync sends the rows of a model that were added, changed or removed since its last run.
    model: customers                 # syncs/models/customers.yaml
    destination: exports             # declared in backflow.yaml
    type: object                     # object | event | list
    object: customers                # the table, API object or file to write
    mode: upsert                     # upsert | update | insert | mirror
    match: { email: email }          # model column: destination field that identifies a record
    mappings:
      - { from: name, to: full_name }          # a column
      - { from: plan, to: tier }
      - { value: backflow, to: lead_source }   # a constant
    schedule: { every: 1h }          # or cron, weekly, after, manual
    enabled: true

    """
}
