import ArgumentParser
import BackflowConfig
import BackflowWeb
import Foundation

/// `--listen` and `--token-file`, shared by `serve` and `daemon` (docs/web.md).
struct WebOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Serve the web UI on HOST:PORT (port 0 picks a free one). Addresses other than loopback need a token.",
      valueName: "addr"))
  var listen: String?

  @Option(
    help: ArgumentHelp(
      "Read the bearer token every request must carry from FILE (else from BACKFLOW_SERVE_TOKEN).",
      valueName: "file"))
  var tokenFile: String?

  /// The server for `address`, or exit 1 when the address is malformed, or not loopback and no
  /// token is given.
  func server(listening address: String, session: CommandSession, global: GlobalOptions) throws -> WebServer {
    guard let parsed = ListenAddress(address) else {
      throw CommandSession.failure("--listen \(address): expected HOST:PORT, such as 127.0.0.1:8400")
    }
    let token: ServeToken?
    do {
      token = try ServeToken.resolve(file: tokenFile, environment: ProcessInfo.processInfo.environment)
    } catch {
      throw CommandSession.failure("\(error)")
    }
    guard token != nil || parsed.isLoopback else {
      throw CommandSession.failure(
        "--listen \(parsed) is not a loopback address, so the web UI needs a token: set "
          + "\(ServeToken.environmentVariable) or pass --token-file FILE (never the token itself on the command line)")
    }
    return WebServer(
      address: parsed, token: token, state: session.stateLocation, directory: global.projectURL,
      catalog: WebCatalog(project: session.project, title: global.projectURL.lastPathComponent))
  }

  /// Says where the server listens, on standard output at once (a test or a supervisor waits for it).
  static func announce(_ server: WebServer, port: Int) {
    let host = server.address.host.contains(":") ? "[\(server.address.host)]" : server.address.host
    let guarded = server.token == nil ? "" : "; every request but /healthz needs the bearer token"
    let line = "Serving the web UI on http://\(host):\(port)/ (read-only\(guarded))\n"
    FileHandle.standardOutput.write(Data(line.utf8))
  }

  /// Runs `body` while `server` (when there is one) serves beside it, and stops the server when
  /// `body` returns. A server that cannot listen says so and leaves `body` running.
  static func serving(_ server: WebServer?, _ body: () async -> Void) async {
    guard let server else { return await body() }
    let serving = Task {
      do {
        try await server.run(handlingSignals: false) { announce(server, port: $0) }
      } catch {
        printError("the web UI could not serve on \(server.address): \(error)")
      }
    }
    await body()
    serving.cancel()
    await serving.value
  }
}
