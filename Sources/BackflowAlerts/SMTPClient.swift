import BackflowConfig
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one plain-text mail over SMTP (RFC 5321): `smtps://` speaks TLS from the start,
/// `smtp://` upgrades with STARTTLS when the server offers it, and AUTH PLAIN (or LOGIN) is used
/// when the URL carries a user. A password is never sent over an unencrypted connection except
/// to this machine (a relay on localhost).
public struct SMTPClient: Sendable {
  public var address: SMTPAddress
  public var timeout: Duration
  /// What the server's certificate is checked against; the system's roots when `nil`.
  public var trustRoots: NIOSSLTrustRoots?

  public init(address: SMTPAddress, timeout: Duration = .seconds(30), trustRoots: NIOSSLTrustRoots? = nil) {
    self.address = address
    self.timeout = timeout
    self.trustRoots = trustRoots
  }

  /// Sends `body` from `from` to every address in `to`.
  public func send(from: String, to: [String], subject: String, body: String) async throws {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.trustRoots = trustRoots ?? .default
    let tls = try NIOSSLContext(configuration: configuration)
    let host = address.host
    let serverName = Self.isIPAddress(host) ? nil : host
    let implicitTLS = address.implicitTLS
    let timeout = self.timeout
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connectTimeout(.seconds(10))
      .connect(host: host, port: address.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          if implicitTLS {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
          }
          try channel.pipeline.syncOperations.addHandler(SMTPReplyDeadline(timeout: timeout))
          return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    try await channel.executeThenClose { inbound, outbound in
      var session = SMTPSession(inbound: inbound.makeAsyncIterator(), outbound: outbound)
      try await session.expect(220, after: "connecting")
      var features = try await session.command("EHLO \(Self.localName)", expect: 250)
      var encrypted = implicitTLS
      if !encrypted, features.contains(where: { $0.uppercased() == "STARTTLS" }) {
        _ = try await session.command("STARTTLS", expect: 220)
        try await channel.channel.eventLoop.submit {
          try channel.channel.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: tls, serverHostname: serverName), position: .first)
        }.get()
        encrypted = true
        features = try await session.command("EHLO \(Self.localName)", expect: 250)
      }
      if let user = address.user {
        guard encrypted || Self.isLoopback(host) else {
          throw SMTPError("the server offers no STARTTLS, and the password is not sent unencrypted; use smtps://")
        }
        try await Self.authenticate(&session, user: user, password: address.password ?? "", features: features)
      }
      _ = try await session.command("MAIL FROM:<\(from)>", expect: 250)
      for recipient in to { _ = try await session.command("RCPT TO:<\(recipient)>", expect: 250) }
      _ = try await session.command("DATA", expect: 354)
      let message = Self.message(from: from, to: to, subject: subject, body: body)
      _ = try await session.command(message + "\r\n.", expect: 250, shownAs: "the message")
      _ = try? await session.command("QUIT", expect: 221)
    }
  }

  private static func authenticate(
    _ session: inout SMTPSession, user: String, password: String, features: [String]
  ) async throws {
    let mechanisms = features.first { $0.uppercased().hasPrefix("AUTH ") }.map {
      Set($0.uppercased().split(separator: " ").dropFirst().map(String.init))
    } ?? []
    if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
      let token = Data("\u{0}\(user)\u{0}\(password)".utf8).base64EncodedString()
      _ = try await session.command("AUTH PLAIN \(token)", expect: 235, shownAs: "AUTH PLAIN")
    } else {
      _ = try await session.command("AUTH LOGIN", expect: 334)
      _ = try await session.command(Data(user.utf8).base64EncodedString(), expect: 334, shownAs: "the user name")
      _ = try await session.command(Data(password.utf8).base64EncodedString(), expect: 235, shownAs: "the password")
    }
  }

  /// The message in RFC 5322 form: headers, a blank line, the body with CRLF line ends and
  /// leading dots doubled, as DATA needs.
  static func message(from: String, to: [String], subject: String, body: String) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
    let date = formatter.string(from: Date())
    let headers = [
      "From: \(from)", "To: \(to.joined(separator: ", "))", "Subject: \(encodedHeader(subject))", "Date: \(date)",
      "Message-ID: <\(UUID().uuidString.lowercased())@backflow>", "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
    ]
    let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map { line in
      let line = line.hasSuffix("\r") ? line.dropLast() : line
      return line.hasPrefix(".") ? "." + line : String(line)
    }
    return (headers + [""] + lines).joined(separator: "\r\n")
  }

  /// A subject with anything but printable ASCII as an RFC 2047 encoded word.
  static func encodedHeader(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value > 0x7e }) else { return text }
    return "=?utf-8?B?\(Data(text.utf8).base64EncodedString())?="
  }

  static let localName = "backflow.localhost"

  static func isIPAddress(_ host: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
  }

  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }
}

/// The conversation: commands out, replies (`250-…` continued lines, then `250 …`) in.
private struct SMTPSession {
  var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
  let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
  private var buffered = ""

  init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
    self.inbound = inbound
    self.outbound = outbound
  }

  /// Sends `line`, then reads the reply; throws unless its code is `code`. Returns the reply's
  /// lines without their codes. `shownAs` names a command in errors instead of its text.
  mutating func command(_ line: String, expect code: Int, shownAs: String? = nil) async throws -> [String] {
    try await outbound.write(ByteBuffer(string: line + "\r\n"))
    return try await expect(code, after: shownAs ?? String(line.prefix { $0 != " " && $0 != ":" }))
  }

  @discardableResult
  mutating func expect(_ code: Int, after step: String) async throws -> [String] {
    let (received, lines) = try await reply()
    guard received == code else {
      throw SMTPError("the server answered \(received) \(lines.joined(separator: " ")) to \(step)")
    }
    return lines
  }

  private mutating func reply() async throws -> (Int, [String]) {
    var lines: [String] = []
    while true {
      let line = try await nextLine()
      guard line.count >= 3, let code = Int(line.prefix(3)) else { throw SMTPError("not an SMTP reply: \(line.prefix(80))") }
      let rest = line.dropFirst(4)
      lines.append(String(rest))
      if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { return (code, lines) }
    }
  }

  private mutating func nextLine() async throws -> String {
    while true {
      if let end = buffered.range(of: "\r\n") ?? buffered.range(of: "\n") {
        let line = String(buffered[..<end.lowerBound])
        buffered.removeSubrange(..<end.upperBound)
        return line
      }
      guard let buffer = try await inbound.next() else { throw SMTPError("the server closed the connection") }
      buffered += String(buffer: buffer)
    }
  }
}

/// Why a mail could not be sent; never holds the password.
public struct SMTPError: Error, CustomStringConvertible {
  public var description: String

  public init(_ description: String) {
    self.description = description
  }
}
