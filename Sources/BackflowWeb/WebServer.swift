import BackflowConfig
import BackflowState
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The read-only web UI, JSON API, `/metrics` and `/healthz` over the state store, on Hummingbird
/// (docs/web.md). Every request reads the state store anew; nothing is written.
public struct WebServer: Sendable {
  public let address: ListenAddress
  public let token: ServeToken?
  let reader: StateReader
  let pages: WebPages

  public init(address: ListenAddress, token: ServeToken?, state: StateLocation, directory: URL, catalog: WebCatalog) {
    self.address = address
    self.token = token
    reader = StateReader(location: state, directory: directory)
    pages = WebPages(catalog: catalog)
  }

  /// Serves until the task is cancelled, or with `handlingSignals` until SIGTERM or SIGINT, which
  /// end it gracefully. `onListening` gets the port the server is bound to (`--listen …:0` picks a
  /// free one).
  public func run(handlingSignals: Bool, onListening: @escaping @Sendable (Int) -> Void) async throws {
    let responder = CallbackResponder<BasicRequestContext> { request, _ in await self.respond(to: request) }
    var logger = Logger(label: "backflow.serve")
    logger.logLevel = .error
    let port = address.port
    let application = Application(
      responder: responder,
      configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port)),
      onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
      logger: logger)
    if handlingSignals {
      try await application.runService()
    } else {
      try await application.run()
    }
  }

  func respond(to request: Request) async -> Response {
    let path = request.uri.path
    if path == "/healthz" { return response(await health()) }
    if let token, !token.accepts(authorization: request.headers[.authorization]) {
      var answer = response(
        WebAnswer(
          status: 401, contentType: "text/plain; charset=utf-8",
          body: "401 Unauthorized: send Authorization: Bearer <the token backflow serve was given>\n"))
      answer.headers[.wwwAuthenticate] = "Bearer realm=\"backflow\""
      return answer
    }
    guard request.method == .get || request.method == .head else {
      return response(WebAnswer(status: 405, contentType: "text/plain; charset=utf-8", body: "read-only: GET only\n"))
    }
    let page = request.uri.queryParameters["page"].flatMap { Int($0) } ?? 1
    return response(await answer(path: path, page: page))
  }

  /// Routes a path to its page or API document.
  func answer(path: String, page: Int) async -> WebAnswer {
    let parts = path.split(separator: "/").map(String.init)
    let pages = self.pages
    let route: (@Sendable (StateStore) throws -> WebAnswer)? =
      switch (parts.count, parts.first, parts.dropFirst().first.flatMap { Int($0) }, parts.last) {
      case (0, _, _, _): { try pages.syncsPage($0) }
      case (1, "errors", _, _): { try pages.errorsPage($0) }
      case (1, "locks", _, _): { try pages.locksPage($0) }
      case (1, "metrics", _, _): { .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: try Metrics.text($0)) }
      case let (2, "syncs", id?, _): { try pages.syncPage($0, id: id, page: page) }
      case let (2, "runs", id?, _): { try pages.runPage($0, id: id, page: page) }
      case (2, "api", _, "syncs"): { try pages.syncsJSON($0) }
      case (2, "api", _, "errors"): { try pages.errorsJSON($0) }
      case (2, "api", _, "locks"): { try pages.locksJSON($0) }
      default: Self.apiRoute(parts, page: page, pages: pages)
      }
    guard let route else {
      return parts.first == "api"
        ? .json(.object([("error", .string("no such API document"))]), status: 404)
        : pages.notFound("There is no page at this address.")
    }
    do {
      return try await reader.read(route)
    } catch {
      return WebAnswer(
        status: 503, contentType: "text/plain; charset=utf-8", body: "the state store could not be read: \(error)\n")
    }
  }

  /// `/api/syncs/ID/runs` and `/api/runs/ID`.
  private static func apiRoute(_ parts: [String], page: Int, pages: WebPages) -> (@Sendable (StateStore) throws -> WebAnswer)? {
    guard parts.first == "api", parts.count >= 3, let id = Int(parts[2]) else { return nil }
    switch (parts[1], parts.count, parts.last) {
    case ("syncs", 4, "runs"): return { try pages.syncRunsJSON($0, id: id, page: page) }
    case ("runs", 3, _): return { try pages.runJSON($0, id: id, page: page) }
    default: return nil
    }
  }

  /// 200 while the state store answers a query (or does not exist yet), else 503.
  func health() async -> WebAnswer {
    do {
      try await reader.read { try $0.ping() }
      return WebAnswer(status: 200, contentType: "text/plain; charset=utf-8", body: "ok\n")
    } catch {
      return WebAnswer(status: 503, contentType: "text/plain; charset=utf-8", body: "state store unreachable\n")
    }
  }

  private func response(_ answer: WebAnswer) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = answer.contentType
    headers[.cacheControl] = "no-store"
    headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
    headers[.xContentTypeOptions] = "nosniff"
    return Response(
      status: HTTPResponse.Status(code: answer.status), headers: headers,
      body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
  }
}
