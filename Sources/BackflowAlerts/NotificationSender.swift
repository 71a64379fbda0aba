import AsyncHTTPClient
import BackflowConfig
import BackflowDestinations
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Delivers one event to one channel: Slack (`text`), a signed webhook, or mail.
public struct NotificationSender: Sendable {
  /// How long one delivery may take before it counts as failed.
  public var timeout: Duration
  /// What an SMTP server's certificate is checked against; the system's roots when `nil`.
  public var trustRoots: NIOSSLTrustRoots?

  public init(timeout: Duration = .seconds(15), trustRoots: NIOSSLTrustRoots? = nil) {
    self.timeout = timeout
    self.trustRoots = trustRoots
  }

  /// Sends `event` to `channel`; throws a `NotificationError` whose message holds no secret.
  public func send(_ event: AlertEvent, to channel: NotificationChannel) async throws {
    let redact = Self.redactor(for: channel)
    do {
      switch channel.type.value {
      case .slack:
        let body = JSONValue.object([("text", .string(event.text))]).rendered(compact: true)
        try await post(body, to: channel.url?.value ?? "", headers: [])
      case .webhook:
        let body = event.webhookBody(sentAt: Date().formatted(.iso8601))
        let signature = HMACSHA256.hex(key: Array((channel.secret?.value ?? "").utf8), message: Array(body.utf8))
        try await post(body, to: channel.url?.value ?? "", headers: [("X-Backflow-Signature", "sha256=\(signature)")])
      case .email:
        guard let url = channel.smtp?.value, let address = SMTPAddress(url) else {
          throw NotificationError("the smtp URL does not parse")
        }
        try await SMTPClient(address: address, timeout: timeout, trustRoots: trustRoots).send(
          from: channel.from?.value ?? "", to: channel.to.map(\.value), subject: event.headline, body: event.text)
      }
    } catch let error as NotificationError {
      throw NotificationError(redact(error.message))
    } catch let error as SMTPError {
      throw NotificationError(redact(error.description))
    } catch {
      throw NotificationError(redact(Self.describe(error)))
    }
  }

  private func post(_ body: String, to url: String, headers: [(String, String)]) async throws {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.headers.add(name: "User-Agent", value: "backflow")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(string: body))
    let seconds = timeout.components.seconds
    // A client of its own: the shared one keeps retrying a refused connection for 10 seconds.
    var configuration = HTTPClient.Configuration()
    configuration.timeout = .init(connect: .seconds(min(5, seconds)), read: .seconds(seconds))
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let status: UInt
    let answer: ByteBuffer
    do {
      let response = try await client.execute(request, timeout: .seconds(seconds))
      status = response.status.code
      answer = try await response.body.collect(upTo: 64 * 1024)
      try? await client.shutdown()
    } catch {
      try? await client.shutdown()
      throw error
    }
    guard (200..<300).contains(Int(status)) else {
      let text = String(buffer: answer).trimmingCharacters(in: .whitespacesAndNewlines)
      let shown = text.count > 300 ? String(text.prefix(300)) + "…" : text
      throw NotificationError("HTTP \(status)" + (shown.isEmpty ? "" : ": \(shown)"))
    }
  }

  /// Everything secret a channel holds: its URL (a Slack webhook's path is its key), the
  /// signing secret, the SMTP URL and its user and password.
  static func redactor(for channel: NotificationChannel) -> HTTPRedactor {
    let smtp = channel.smtp.flatMap { SMTPAddress($0.value) }
    let values = [channel.secret?.value, smtp?.password, smtp?.user, channel.smtp?.value].compactMap { $0 }
    return HTTPRedactor(headerValues: values, url: channel.url?.value ?? "")
  }

  static func describe(_ error: any Error) -> String {
    if let error = error as? HTTPClientError {
      switch error {
      case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout: return "timed out"
      case .remoteConnectionClosed: return "the server closed the connection"
      default: return "\(error)"
      }
    }
    if let error = error as? IOError {
      // "connection reset (error set): Connection refused) (errno: 111)" says no more than this.
      return "could not connect: \(String(cString: strerror(error.errnoCode)))"
    }
    return "could not connect: \(error)"
  }
}

/// Why a notification was not delivered; never holds a URL, secret or password.
public struct NotificationError: Error, CustomStringConvertible, Sendable {
  public var message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
