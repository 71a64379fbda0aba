import BackflowConfig
import Foundation
import NIOCore
import NIOHTTP1

/// Collects one HTTP request at a time on a connection and writes the state's reply.
final class ProtocolServerHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let state: ProtocolServerState
  private var head: HTTPRequestHead?
  private var body = ByteBuffer()

  init(state: ProtocolServerState) {
    self.state = state
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case let .head(head):
      self.head = head
      body.clear()
    case var .body(part):
      body.writeBuffer(&part)
    case .end:
      guard let head else { return }
      self.head = nil
      respond(to: head, body: String(buffer: body), context: context)
    }
  }

  private func respond(to head: HTTPRequestHead, body text: String, context: ChannelHandlerContext) {
    let path = String(head.uri.prefix { $0 != "?" })
    let request = ProtocolServer.Request(
      method: head.method.rawValue,
      path: path.removingPercentEncoding ?? path,
      query: head.uri.contains("?") ? String(head.uri.drop { $0 != "?" }.dropFirst()) : "",
      headers: head.headers.map { (name: $0.name, value: $0.value) },
      text: text,
      body: try? JSONValue.parse(text))
    switch state.handle(request) {
    case .drop:
      context.close(promise: nil)
    case let .answer(status, headers, body, delay):
      let keepAlive = head.isKeepAlive
      guard let delay else {
        write(status: status, headers: headers, body: body, keepAlive: keepAlive, context: context)
        return
      }
      let (seconds, attoseconds) = delay.components
      context.eventLoop.assumeIsolated().scheduleTask(
        in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
      ) {
        guard context.channel.isActive else { return }
        self.write(status: status, headers: headers, body: body, keepAlive: keepAlive, context: context)
      }
    }
  }

  private func write(
    status: Int, headers extra: [(String, String)], body: String, keepAlive: Bool,
    context: ChannelHandlerContext
  ) {
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: "application/json")
    headers.add(name: "Content-Length", value: String(body.utf8.count))
    headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
    for (name, value) in extra { headers.add(name: name, value: value) }
    let head = HTTPResponseHead(
      version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
    context.write(wrapOutboundOut(.head(head)), promise: nil)
    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
    let written = context.eventLoop.makePromise(of: Void.self)
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
    if !keepAlive { written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
