import ArgumentParser
import BackflowWeb

extension Backflow {
  /// `backflow serve`: the read-only web UI, JSON API, /metrics and /healthz over the state store.
  public struct Serve: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Serve a read-only web UI, a JSON API and Prometheus metrics over the state store.",
      discussion: """
        Pages: every sync, one sync (its applied config and run history as a chart), one run (its \
        figures and failed rows), errors grouped by category, locks; the same as JSON under /api/; \
        /metrics in the Prometheus text format; /healthz. Listens on 127.0.0.1:8400 unless --listen \
        says otherwise; an address other than loopback needs a token (BACKFLOW_SERVE_TOKEN or \
        --token-file). SIGTERM or Ctrl-C stops it. docs/web.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @OptionGroup(title: "Web UI")
    var web: WebOptions

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global)
      let server = try web.server(
        listening: web.listen ?? ListenAddress.defaultAddress.description, session: session, global: global)
      do {
        try await server.run(handlingSignals: true) { WebOptions.announce(server, port: $0) }
      } catch {
        throw CommandSession.failure("the web UI could not serve on \(server.address): \(error)")
      }
    }
  }
}
