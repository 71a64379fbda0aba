import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// Tokens, loopback, /healthz and `daemon --listen`.
@Suite("backflow serve access")
struct ServeAccessTests {
  static let token = "s3cret-token-for-tests"

  @Test func withATokenFromTheEnvironmentEveryRequestButHealthzNeedsIt() async throws {
    let scenario = try await ServeTests.project()
    try await ServedProject.with(scenario, environment: ["BACKFLOW_SERVE_TOKEN": Self.token]) { (served) async throws -> Void in
      for path in ["/", "/syncs/1", "/runs/1", "/errors", "/locks", "/metrics", "/api/syncs", "/api/runs/1", "/nowhere"] {
        let without = try await served.get(path)
        #expect(without.status == 401, "\(path)")
        #expect(!without.body.contains("users_to_crm"))
        #expect(try await served.get(path, token: "s3cret-token-for-test").status == 401, "\(path)")
        #expect(try await served.get(path, authorization: Self.token).status == 401, "\(path)")
      }
      for path in ["/", "/syncs/1", "/runs/1", "/errors", "/locks", "/metrics", "/api/syncs", "/api/runs/1"] {
        let with = try await served.get(path, token: Self.token)
        #expect(with.status == 200, "\(path)")
      }
      // The server is read-only: other methods are refused, after the token is checked.
      #expect(try await served.get("/", method: "POST").status == 401)
      #expect(try await served.get("/", token: Self.token, method: "POST").status == 405)
      #expect(try await served.get("/api/syncs", token: Self.token, method: "DELETE").status == 405)
      let health = try await served.get("/healthz")
      #expect(health.status == 200 && health.body == "ok\n")
    }
  }

  @Test func aTokenFileWorksTheSame() async throws {
    let scenario = try await ServeTests.project()
    let file = scenario.directory.appendingPathComponent("token")
    try Data("file-token\n".utf8).write(to: file)
    try await ServedProject.with(scenario, ["--token-file", file.path]) { (served) async throws -> Void in
      #expect(try await served.get("/").status == 401)
      #expect(try await served.get("/", token: "file-token").status == 200)
    }
  }

  @Test func anAddressOtherThanLoopbackWithoutATokenIsRefused() async throws {
    let scenario = try await ServeTests.project()
    // Refused before anything listens: the check comes first.
    let result = try scenario.backflow(["serve", "--listen", "0.0.0.0:0"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("not a loopback address"))
    #expect(result.stderr.contains("BACKFLOW_SERVE_TOKEN") && result.stderr.contains("--token-file"))
    #expect(!result.stdout.contains("Serving"))
    let empty = scenario.directory.appendingPathComponent("empty")
    try Data().write(to: empty)
    let emptyFile = try scenario.backflow(["serve", "--listen", "127.0.0.1:0", "--token-file", empty.path])
    #expect(emptyFile.status == 1 && emptyFile.stderr.contains("is empty"))
    #expect(try scenario.backflow(["serve", "--listen", "nowhere"]).status == 1)
  }

  @Test func aPortInUseEndsServeWithExitOne() async throws {
    let scenario = try await ServeTests.project()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let port = try #require(served.base.port)
      let second = try await BackflowProcess.output(
        of: ["serve", "--listen", "127.0.0.1:\(port)"], in: scenario.directory, environment: scenario.environment)
      #expect(second.status == 1)
      #expect(second.stderr.contains("could not serve on 127.0.0.1:\(port)"), "\(second.stderr)")
      #expect(try await served.get("/healthz").status == 200)
    }
  }

  @Test func healthzSaysWhetherTheStateStoreCanBeRead() async throws {
    let scenario = try await ServeTests.project()
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      #expect(try await served.get("/healthz").status == 200)
      // Overwrite the state file in place (the server's connection keeps it open) with
      // something that is not a database.
      let state = try FileHandle(forWritingTo: scenario.directory.appendingPathComponent(".backflow/state.db"))
      try state.truncate(atOffset: 0)
      try state.write(contentsOf: Data(String(repeating: "not a database ", count: 1000).utf8))
      try state.close()
      let broken = try await served.get("/healthz")
      #expect(broken.status == 503)
      #expect(try await served.get("/").status == 503)
    }
  }

  @Test func theDaemonServesTheSamePagesWhileItRuns() async throws {
    let scenario = try await ServeTests.project()
    try await ServedProject.with(scenario, ["daemon", "--listen", "127.0.0.1:0"]) { (served) async throws -> Void in
      #expect(try await served.get("/healthz").status == 200)
      let page = try await served.get("/syncs/1")
      #expect(page.status == 200 && page.body.contains("users_to_crm"))
      await ServedProject.stop(served.process)
      #expect(served.process.terminationStatus == 0)
    }
  }
}
