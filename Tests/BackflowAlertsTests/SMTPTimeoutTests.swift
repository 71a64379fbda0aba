import BackflowAlerts
import BackflowConfig
import BackflowTestSupport
import Testing

/// The mail time-out is the server's silence: how long a greeting or a reply keeps the client
/// waiting, timed on the connection's event loop.
@Suite("SMTP time-out")
struct SMTPTimeoutTests {
  static func client(port: Int, timeout: Duration) throws -> SMTPClient {
    SMTPClient(address: try #require(SMTPAddress("smtp://127.0.0.1:\(port)")), timeout: timeout)
  }

  @Test("a server that never greets fails the mail once the time-out passes")
  func silentServer() async throws {
    // An HTTP server waits for a request, so it never says a word to an SMTP client.
    try await withProtocolServer { server in
      let client = try Self.client(port: server.port, timeout: .milliseconds(500))
      await #expect {
        try await client.send(from: "a@example.com", to: ["b@example.com"], subject: "s", body: "b")
      } throws: { error in
        "\(error)" == "no answer within 0.5 seconds"
      }
    }
  }

  @Test("a conversation held up by a busy shared pool still goes through: the server answered in time")
  func heldPool() async throws {
    try await withSMTPServer { smtp in
      let client = try Self.client(port: smtp.port, timeout: .milliseconds(500))
      // Many recipients, so the conversation has many replies still to come after the hold.
      let recipients = (1...20).map { "b\($0)@example.com" }
      async let sent: Void = client.send(from: "a@example.com", to: recipients, subject: "s", body: "b")
      while smtp.commands == 0 { try await Task.sleep(for: .milliseconds(5)) }
      // Mid-conversation, several times the time-out: each reply arrives in time but waits
      // for a pool thread to be read, which is the process's delay, not the server's.
      holdTheSharedPool(for: .milliseconds(2500))
      try await sent
      #expect(smtp.messages.map(\.recipients) == [recipients])
    }
  }
}
