import BackflowAlerts
import BackflowConfig
import BackflowTestSupport
import Foundation
import NIOSSL
import Testing

/// Mail over TLS: STARTTLS on `smtp://` when the server offers it, TLS from the start on
/// `smtps://`, the server's certificate checked, AUTH and the message inside the encryption.
@Suite("SMTP over TLS")
struct SMTPTLSTests {
  /// A self-signed certificate for 127.0.0.1 and localhost, made by the openssl command.
  @Sendable static func certificate(in directory: URL) throws -> (certificate: String, key: String) {
    let certificate = directory.appendingPathComponent("cert.pem").path
    let key = directory.appendingPathComponent("key.pem").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "openssl could not make a certificate")
    return (certificate, key)
  }

  static func channel(_ url: String) -> NotificationChannel {
    let here = SourceLocation(file: "backflow.yaml", line: 1, column: 1)
    return NotificationChannel(
      name: Located("team", at: here), type: Located(.email, at: here), smtp: Located(url, at: here, isSecret: true),
      from: Located("backflow@example.com", at: here), to: [Located("data@example.com", at: here)])
  }

  static let event = AlertEvent(
    event: .opened, alert: "slow", sync: "users_to_crm", syncID: 3, runID: 9, figure: "took 12m 5s", threshold: "10m")

  @Test(arguments: [false, true])
  func mailIsSentInsideTLS(implicit: Bool) async throws {
    try await withTemporaryDirectory { directory in
      let (certificate, key) = try await onThreadOfItsOwn { try Self.certificate(in: directory) }
      let tls = SMTPServer.TLS(certificateFile: certificate, keyFile: key, implicit: implicit)
      try await withSMTPServer(user: "alerts", password: "pa55word", tls: tls) { smtp in
        let scheme = implicit ? "smtps" : "smtp"
        // The session runs on the cooperative pool, which long synchronous tests running beside
        // this one can hold for many seconds on a 2-core machine: the default 15 s is for servers.
        let sender = NotificationSender(timeout: .seconds(120), trustRoots: .file(certificate))
        try await sender.send(Self.event, to: Self.channel("\(scheme)://alerts:pa55word@127.0.0.1:\(smtp.port)"))
        let message = try #require(smtp.messages.first)
        #expect(message.encrypted && message.user == "alerts" && message.recipients == ["data@example.com"])
        #expect(message.data.contains("Subject: Backflow alert: slow on sync users_to_crm"))
        #expect(message.data.contains("Run: #9\r\nFigure: took 12m 5s\r\nThreshold: 10m"))
      }
    }
  }

  @Test func aCertificateNotTrustedIsRefusedBeforeTheLogin() async throws {
    try await withTemporaryDirectory { directory in
      let (certificate, key) = try await onThreadOfItsOwn { try Self.certificate(in: directory) }
      try await withSMTPServer(user: "alerts", password: "pa55word", tls: SMTPServer.TLS(certificateFile: certificate, keyFile: key)) { smtp in
        // The system's roots do not know the test's self-signed certificate.
        await #expect(throws: NotificationError.self) {
          try await NotificationSender().send(Self.event, to: Self.channel("smtp://alerts:pa55word@127.0.0.1:\(smtp.port)"))
        }
        #expect(smtp.messages.isEmpty && smtp.rejectedLogins == 0)
      }
    }
  }
}
