import Foundation
import NIOCore
import NIOSSL

/// A real SMTP server (RFC 5321) on 127.0.0.1 for the email channel's tests: it speaks EHLO,
/// AUTH PLAIN and LOGIN, MAIL, RCPT, DATA and QUIT, and keeps every message. With `user` and
/// `password`, MAIL is refused (530) until a client has authenticated with them. With `tls`, it
/// offers STARTTLS (or, `implicit`, speaks TLS from the first byte, as smtps does).
public final class SMTPServer: Sendable {
  /// One message as received.
  public struct Message: Sendable, Equatable {
    public var from: String
    public var recipients: [String]
    /// Headers and body as sent, with CRLF line ends and dot-stuffing undone.
    public var data: String
    /// Who authenticated on the connection that sent it, if anyone.
    public var user: String?
    /// Whether the connection was encrypted when the message was sent.
    public var encrypted: Bool
  }

  /// The server's certificate and key (PEM files), and whether TLS starts at once.
  public struct TLS: Sendable {
    public var certificateFile: String
    public var keyFile: String
    public var implicit: Bool

    public init(certificateFile: String, keyFile: String, implicit: Bool = false) {
      self.certificateFile = certificateFile
      self.keyFile = keyFile
      self.implicit = implicit
    }

    func context() throws -> NIOSSLContext {
      try NIOSSLContext(
        configuration: .makeServerConfiguration(
          certificateChain: [.certificate(try NIOSSLCertificate(file: certificateFile, format: .pem))],
          privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))))
    }
  }

  public let port: Int
  private let channel: any Channel
  private let state: SMTPServerState

  private init(channel: any Channel, port: Int, state: SMTPServerState) {
    self.channel = channel
    self.port = port
    self.state = state
  }

  /// Listens on 127.0.0.1 on a port the system picks.
  public static func start(user: String? = nil, password: String? = nil, tls: TLS? = nil) async throws -> SMTPServer {
    let context = try tls?.context()
    let state = SMTPServerState(credentials: user.map { ($0, password ?? "") }, tls: context)
    let implicit = tls?.implicit ?? false
    let (channel, port) = try await listenOnLoopback { channel in
      if implicit, let context {
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
      }
      try channel.pipeline.syncOperations.addHandler(SMTPServerHandler(state: state, encrypted: implicit))
    }
    return SMTPServer(channel: channel, port: port, state: state)
  }

  /// Every message received, in order.
  public var messages: [Message] { state.messages }

  /// Failed AUTH attempts.
  public var rejectedLogins: Int { state.rejectedLogins }

  /// Command lines received, on every connection: how far a conversation got.
  public var commands: Int { state.commands }

  public func stop() async {
    try? await channel.close()
  }
}

/// Runs `body` with a started SMTP server that is stopped afterwards, whatever `body` does.
public func withSMTPServer<T>(
  user: String? = nil, password: String? = nil, tls: SMTPServer.TLS? = nil,
  isolation: isolated (any Actor)? = #isolation, _ body: (SMTPServer) async throws -> T
) async throws -> T {
  let server = try await SMTPServer.start(user: user, password: password, tls: tls)
  do {
    let result = try await body(server)
    await server.stop()
    return result
  } catch {
    await server.stop()
    throw error
  }
}

private final class SMTPServerState: @unchecked Sendable {
  let credentials: (user: String, password: String)?
  /// For STARTTLS, when the server offers it.
  let tls: NIOSSLContext?
  private let lock = NSLock()
  private var received: [SMTPServer.Message] = []
  private var rejected = 0
  private var commandLines = 0

  init(credentials: (String, String)?, tls: NIOSSLContext?) {
    self.credentials = credentials
    self.tls = tls
  }

  var messages: [SMTPServer.Message] { lock.withLock { received } }
  var rejectedLogins: Int { lock.withLock { rejected } }
  func keep(_ message: SMTPServer.Message) { lock.withLock { received.append(message) } }
  func rejectLogin() { lock.withLock { rejected += 1 } }
  var commands: Int { lock.withLock { commandLines } }
  func countCommand() { lock.withLock { commandLines += 1 } }
}

/// One connection's conversation; touched only on its event loop.
private final class SMTPServerHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private let state: SMTPServerState
  private var buffered = ""
  private var user: String?
  private var loginStep: (user: String?, waiting: Bool) = (nil, false)
  private var from: String?
  private var recipients: [String] = []
  private var data: [String]?
  private var encrypted: Bool

  init(state: SMTPServerState, encrypted: Bool) {
    self.state = state
    self.encrypted = encrypted
  }

  func channelActive(context: ChannelHandlerContext) {
    reply("220 backflow-test ESMTP ready", context)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    buffered += String(buffer: unwrapInboundIn(data))
    while let end = buffered.range(of: "\r\n") {
      let line = String(buffered[..<end.lowerBound])
      buffered.removeSubrange(..<end.upperBound)
      handle(line, context)
    }
  }

  private func handle(_ line: String, _ context: ChannelHandlerContext) {
    if var lines = data {
      if line == "." {
        state.keep(
          SMTPServer.Message(
            from: from ?? "", recipients: recipients, data: lines.joined(separator: "\r\n"), user: user,
            encrypted: encrypted))
        data = nil
        from = nil
        recipients = []
        reply("250 2.0.0 queued", context)
      } else {
        lines.append(line.hasPrefix(".") ? String(line.dropFirst()) : line)
        data = lines
      }
      return
    }
    if loginStep.waiting {
      let decoded = Data(base64Encoded: line).map { String(decoding: $0, as: UTF8.self) } ?? ""
      if let name = loginStep.user {
        loginStep = (nil, false)
        authenticate(name, decoded, context)
      } else {
        loginStep = (decoded, true)
        reply("334 UGFzc3dvcmQ6", context)
      }
      return
    }
    state.countCommand()
    let verb = line.prefix { $0 != " " && $0 != ":" }.uppercased()
    let argument = line.dropFirst(verb.count).trimmingCharacters(in: .whitespaces)
    switch verb {
    case "EHLO":
      let startTLS = state.tls != nil && !encrypted ? "250-STARTTLS\r\n" : ""
      reply("250-backflow-test\r\n\(startTLS)250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 1000000", context)
    case "STARTTLS":
      guard let tls = state.tls, !encrypted else { return reply("454 4.7.0 TLS not available", context) }
      // The 220 leaves in clear; everything after it goes through TLS. The session starts over.
      reply("220 2.0.0 ready to start TLS", context)
      do {
        try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
      } catch {
        context.close(promise: nil)
      }
      encrypted = true
      user = nil
      from = nil
      recipients = []
    case "HELO":
      reply("250 backflow-test", context)
    case "AUTH":
      let parts = argument.split(separator: " ")
      switch parts.first?.uppercased() {
      case "PLAIN" where parts.count == 2:
        let fields = (Data(base64Encoded: String(parts[1])) ?? Data()).split(separator: 0, omittingEmptySubsequences: false)
          .map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 3 else { return reply("501 5.5.2 malformed AUTH PLAIN", context) }
        authenticate(fields[1], fields[2], context)
      case "LOGIN":
        loginStep = (nil, true)
        reply("334 VXNlcm5hbWU6", context)
      default:
        reply("504 5.5.4 mechanism not supported", context)
      }
    case "MAIL":
      if state.credentials != nil, user == nil { return reply("530 5.7.0 authentication required", context) }
      from = Self.address(argument)
      recipients = []
      reply("250 2.1.0 ok", context)
    case "RCPT":
      guard from != nil else { return reply("503 5.5.1 MAIL first", context) }
      recipients.append(Self.address(argument))
      reply("250 2.1.5 ok", context)
    case "DATA":
      guard from != nil, !recipients.isEmpty else { return reply("503 5.5.1 RCPT first", context) }
      data = []
      reply("354 end data with <CR><LF>.<CR><LF>", context)
    case "RSET", "NOOP":
      reply("250 2.0.0 ok", context)
    case "QUIT":
      let written = context.eventLoop.makePromise(of: Void.self)
      context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "221 2.0.0 bye\r\n")), promise: written)
      written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    default:
      reply("502 5.5.2 command not recognised", context)
    }
  }

  private func authenticate(_ name: String, _ password: String, _ context: ChannelHandlerContext) {
    if let expected = state.credentials, expected.user != name || expected.password != password {
      state.rejectLogin()
      return reply("535 5.7.8 authentication failed", context)
    }
    user = name
    reply("235 2.7.0 authenticated", context)
  }

  /// `FROM:<a@b>` → `a@b`.
  private static func address(_ argument: String) -> String {
    guard let open = argument.firstIndex(of: "<"), let close = argument.lastIndex(of: ">"), open < close else {
      return argument
    }
    return String(argument[argument.index(after: open)..<close])
  }

  private func reply(_ text: String, _ context: ChannelHandlerContext) {
    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
