import BackflowConfig
import BackflowConnectors
import BackflowTestSupport
import Foundation
import Testing

@Suite("loading a project")
struct ProjectLoaderTests {
  @Test func everyProblemInEveryFileIsReportedAtOnceInOrder() {
    let loaded = ProjectFixture.load([
      "backflow.yaml": ProjectFixture.projectFile + "sorces: {}\n",
      "syncs/models/users.yaml": "source: warehouse\nprimary_key: id\n",
      "syncs/a.yaml": DiagnosticCase.sync("mdoe: upsert\nbatch: { size: 0 }"),
      "syncs/b.yaml": "model: users\ndestination: nowhere\nobject: t\nmatch: { id: id }\nschedule: { every: never }\n",
    ])
    let found = loaded.diagnostics.sorted.filter { $0.severity == .error }.map {
      "\($0.location.file):\($0.location.line)"
    }
    #expect(
      found == [
        "backflow.yaml:8", "syncs/a.yaml:5", "syncs/a.yaml:6", "syncs/b.yaml:2", "syncs/b.yaml:5",
        "syncs/models/users.yaml:1",
      ])
  }

  @Test func defaultsAreWhatTheDocsSay() throws {
    let loaded = ProjectFixture.load(["syncs/s.yaml": "model: users\ndestination: local\nobject: contacts\nmatch: { email: email }\n"])
    let project = loaded.project
    #expect(project.version.value == 1)
    #expect(project.state.value == "sqlite:.backflow/state.db")
    let sync = try #require(project.syncs.first)
    #expect(sync.name.value == "s")
    #expect(sync.type.value == .object)
    #expect(sync.mode.value == .upsert)
    #expect(sync.onDelete.value == .nothing)
    #expect(sync.batch.size.value == 500)
    #expect(sync.batch.concurrency.value == 1)
    #expect(sync.batch.rate == nil)
    #expect(sync.maxRemove.value == .percent(50))
    #expect(sync.enabled.value)
    guard case .manual = sync.schedule.value else {
      Issue.record("default schedule is \(sync.schedule.value)")
      return
    }
  }

  @Test func typeDecidesTheDefaultMode() {
    let loaded = ProjectFixture.load([
      "syncs/e.yaml": "model: users\ndestination: api\ntype: event\nobject: signed_up\n",
      "syncs/l.yaml": "model: users\ndestination: api\ntype: list\nobject: vip\nmatch: { email: email }\n",
      "syncs/m.yaml": "model: users\ndestination: local\nobject: t\nmode: mirror\nmatch: { email: email }\n",
    ])
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all)")
    #expect(loaded.project.syncs.map(\.mode.value) == [.insert, .addRemove, .mirror])
    #expect(loaded.project.sync(named: "m")?.onDelete.value == .delete)
  }

  @Test func valuesKeepTheirYAMLTypes() throws {
    let loaded = ProjectFixture.load([
      "syncs/s.yaml": DiagnosticCase.sync(
        """
        mappings:
          - { value: 3, to: a }
          - { value: "3", to: b }
          - { value: 2.5, to: c }
          - { value: true, to: d }
          - { value: null, to: e }
          - { value: warehouse, to: f }
        """)
    ])
    let sync = try #require(loaded.project.syncs.first, "\(loaded.diagnostics.all)")
    let values: [ScalarValue] = sync.mappings.compactMap {
      if case let .value(value) = $0.origin { value.value } else { nil }
    }
    #expect(values == [.integer(3), .string("3"), .number(2.5), .boolean(true), .null, .string("warehouse")])
  }

  @Test func schedulesDecode() throws {
    let loaded = ProjectFixture.load([
      "syncs/a.yaml": DiagnosticCase.sync("schedule: { every: 1h30m }"),
      "syncs/b.yaml": DiagnosticCase.sync("schedule: { cron: \"0 6 * * 1-5\", timezone: Europe/Berlin }"),
      "syncs/c.yaml": DiagnosticCase.sync("schedule:\n  weekly: { days: [mon, Thursday], at: [\"07:30\", \"18:00\"], timezone: America/New_York }"),
      "syncs/d.yaml": DiagnosticCase.sync("schedule: { after: [a, b], after_failure: run }"),
      "syncs/e.yaml": DiagnosticCase.sync("schedule: manual"),
    ])
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all)")
    let schedules = loaded.project.syncs.map(\.schedule.value)
    guard schedules.count == 5,
      case let .every(interval) = schedules[0],
      case let .cron(cron, zone) = schedules[1],
      case let .weekly(days, times, weeklyZone) = schedules[2],
      case let .after(leaders, onFailure) = schedules[3],
      case .manual = schedules[4]
    else {
      Issue.record("unexpected schedules \(schedules)")
      return
    }
    #expect(interval.seconds == 5400)
    #expect(cron.hours == [6] && zone == "Europe/Berlin")
    #expect(days == [.monday, .thursday] && times.map(\.description) == ["07:30", "18:00"] && weeklyZone == "America/New_York")
    #expect(leaders.map(\.value) == ["a", "b"] && onFailure == .run)
  }

  @Test func anchorsAliasesAndMergeKeysWork() throws {
    let loaded = ProjectFixture.load([
      "syncs/a.yaml": """
        batch: &batch { size: 10, concurrency: 2 }
        <<: [{ model: users, destination: local }, { destination: api, object: ignored }]
        object: contacts
        match: { email: &email email }
        mappings:
          - { from: *email, to: contact_email }

        """
    ])
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all)")
    let sync = try #require(loaded.project.syncs.first)
    #expect(sync.model.value == "users")
    #expect(sync.destination.value == "local", "the first merged mapping wins")
    #expect(sync.object.value == "contacts", "written keys win over merged ones")
    #expect(sync.batch.concurrency.value == 2)
    #expect(sync.mappings.first?.to.value == "contact_email")
  }

  @Test func warningsDoNotFailValidation() {
    let loaded = ProjectFixture.load([
      "syncs/models/orphan.yaml": ProjectFixture.modelFile,
      "syncs/e.yaml": "model: users\ndestination: api\ntype: event\nobject: x\nmatch: { id: id }\non_delete: nothing\n",
    ])
    #expect(!loaded.diagnostics.hasErrors)
    #expect(
      loaded.diagnostics.sorted.map(\.description) == [
        "syncs/e.yaml:5:8: warning: match is not used by event syncs, which only insert",
        "syncs/e.yaml:6:12: warning: on_delete does not apply to event syncs and is ignored",
        "syncs/models/orphan.yaml:1:1: warning: model \"orphan\" is not used by any sync",
      ])
  }

  @Test func missingProjectFileSaysHowToStart() {
    let loaded = ProjectFixture.load(["backflow.yaml": "", "syncs/s.yaml": DiagnosticCase.sync("")])
    #expect(loaded.diagnostics.sorted.map(\.description) == [
      "backflow.yaml:1:1: error: no backflow.yaml in this directory; run `backflow init` to create a project, or pass --project DIR"
    ])
  }

  @Test func pathsCarryTheProjectDirectoryAsTyped() {
    withTemporaryDirectory { directory in
      ProjectFixture.write(["syncs/s.yaml": DiagnosticCase.sync("mdoe: x")], into: directory)
      let loaded = ProjectLoader(directory: directory, displayPath: "teams/growth/", environment: [:]).load()
      #expect(loaded.diagnostics.all.map(\.location.file) == ["teams/growth/syncs/s.yaml"])
    }
  }

  @Test func theExampleProjectIsValid() {
    let loaded = ProjectLoader(directory: ProjectFixture.repositoryRoot, environment: [:]).load()
    #expect(loaded.diagnostics.all.isEmpty, "\(loaded.diagnostics.all.map(\.description))")
    let types = Set(loaded.project.syncs.map(\.type.value))
    #expect(types == [.object, .event, .list])
    #expect(loaded.project.sources.allSatisfy { $0.type.value == "sqlite" })
  }

  @Test func thePostgresAndHTTPExampleNeedsOnlyItsVariables() {
    let directory = ProjectFixture.repositoryRoot.appendingPathComponent("examples/postgres-http")
    let unset = ProjectLoader(directory: directory, environment: [:]).load()
    #expect(unset.diagnostics.hasErrors)
    #expect(unset.diagnostics.all.allSatisfy { $0.message.contains("which is not set") }, "\(unset.diagnostics.all)")
    let set = ProjectLoader(
      directory: directory,
      environment: ["WAREHOUSE_URL": "postgres://localhost/w", "CRM_DB_URL": "postgres://localhost/c", "CRM_TOKEN": "t"]
    ).load()
    #expect(set.diagnostics.all.isEmpty, "\(set.diagnostics.all.map(\.description))")
  }
}
