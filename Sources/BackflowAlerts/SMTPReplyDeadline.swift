import NIOCore

/// Closes the connection with "no answer within …" when the server keeps the client waiting
/// longer than the time-out: for its greeting, and after each command until the last line of its
/// reply. Timed on the connection's event loop, so time the conversation's task spends waiting for
/// a thread of Swift's shared pool (a busy process) does not count against the server.
final class SMTPReplyDeadline: ChannelDuplexHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private let timeout: Duration
  private var expiry: Scheduled<Void>?
  /// The reply's unfinished line, to tell where a reply ends.
  private var unfinished: [UInt8] = []

  init(timeout: Duration) {
    self.timeout = timeout
  }

  func channelActive(context: ChannelHandlerContext) {
    // The greeting is the first reply.
    arm(context)
    context.fireChannelActive()
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if expiry == nil { arm(context) }
    context.write(data, promise: promise)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    // Bytes, not a String: "\r\n" is one Character, which a split at "\n" would not see.
    let lines = (unfinished + unwrapInboundIn(data).readableBytesView).split(
      separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    unfinished = Array(lines.last ?? [])
    // `250-…` continues a reply, `250 …` ends it; a server still sending gets a fresh time-out.
    if unfinished.isEmpty, let last = lines.dropLast().last, Self.endsReply(last) {
      disarm()
    } else {
      arm(context)
    }
    context.fireChannelRead(data)
  }

  func channelInactive(context: ChannelHandlerContext) {
    disarm()
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    disarm()
  }

  private static func endsReply(_ line: ArraySlice<UInt8>) -> Bool {
    let line = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
    return line.count == 3 || (line.count > 3 && line[line.startIndex + 3] == UInt8(ascii: " "))
  }

  private func arm(_ context: ChannelHandlerContext) {
    disarm()
    let timeout = self.timeout
    expiry = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
      context.fireErrorCaught(SMTPError("no answer within \(timeout)"))
      context.close(promise: nil)
    }
  }

  private func disarm() {
    expiry?.cancel()
    expiry = nil
  }
}
