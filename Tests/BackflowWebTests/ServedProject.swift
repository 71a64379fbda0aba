import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A `backflow serve` (or `daemon --listen`) process on 127.0.0.1 and a free port, started from the
/// built executable in a scenario's project, and the requests tests make to it.
struct ServedProject {
  let process: Process
  let base: URL
  let log: URL

  struct Answer {
    var status: Int
    var body: String
    var contentType: String
  }

  /// Runs `body` against a server started with `arguments` (after `serve --listen 127.0.0.1:0`
  /// unless `arguments` starts with a command of its own), and stops the server however `body` ends.
  static func with<Result>(
    _ scenario: Scenario, _ arguments: [String] = [], environment: [String: String] = [:],
    _ body: (ServedProject) async throws -> Result
  ) async throws -> Result {
    let command = arguments.first == "daemon" ? arguments : ["serve", "--listen", "127.0.0.1:0"] + arguments
    let log = scenario.directory.appendingPathComponent("serve-\(UUID().uuidString).log")
    let process = try BackflowProcess.start(
      command, in: scenario.directory, environment: scenario.environment.merging(environment) { _, new in new },
      log: log)
    do {
      let served = ServedProject(process: process, base: try await listening(process, log: log), log: log)
      let result = try await body(served)
      await stop(process)
      return result
    } catch {
      await stop(process)
      throw error
    }
  }

  /// Ends the server with SIGTERM, as a supervisor would, and waits for it; SIGKILL if that fails.
  static func stop(_ process: Process) async {
    guard process.isRunning else { return }
    process.terminate()
    let pid = process.processIdentifier
    let killer = Task {
      try await Task.sleep(for: .seconds(30))
      kill(pid, SIGKILL)
    }
    await BackflowProcess.exit(of: process)
    killer.cancel()
  }

  /// The base URL the server announces; fails when it exits first or never says so.
  private static func listening(_ process: Process, log: URL) async throws -> URL {
    // A generous wait for the announcement, not a timing assertion: a loaded machine may be slow.
    for _ in 0..<1200 {
      let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression) {
        return try #require(URL(string: String(text[range])))
      }
      guard process.isRunning else {
        throw ScenarioError("backflow exited with \(process.terminationStatus) before serving:\n\(text)")
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw ScenarioError("backflow did not say where it serves:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
  }

  /// GETs `path` (with its query), with `Authorization: Bearer token` when given.
  func get(_ path: String, token: String? = nil, authorization: String? = nil, method: String = "GET") async throws
    -> Answer
  {
    var request = URLRequest(url: try #require(URL(string: path, relativeTo: base)))
    request.httpMethod = method
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = try #require(response as? HTTPURLResponse)
    return Answer(
      status: http.statusCode, body: String(decoding: data, as: UTF8.self),
      contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "")
  }

  /// GETs a JSON document and parses it.
  func json(_ path: String, token: String? = nil) async throws -> JSONValue {
    let answer = try await get(path, token: token)
    #expect(answer.status == 200, "\(path): \(answer.body)")
    #expect(answer.contentType.hasPrefix("application/json"))
    return try JSONValue.parse(answer.body)
  }
}

extension Scenario {
  /// `backflow ARGS` in the project, parsed as JSON; fails the test when it exits non-zero.
  func backflowJSON(_ arguments: [String]) throws -> JSONValue {
    let result = try backflow(arguments)
    #expect(result.status == 0, "\(arguments): \(result.stderr)")
    return try JSONValue.parse(result.stdout)
  }
}

/// The repository this test was built from: scripts live there.
enum Repository {
  static var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
}
