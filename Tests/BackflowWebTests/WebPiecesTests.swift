@testable import BackflowWeb
import BackflowTestSupport
import Foundation
import Testing

/// The pieces of the web UI that decide safety: escaping, loopback and tokens.
@Suite("web UI pieces")
struct WebPiecesTests {
  @Test func escapingLeavesNoMarkup() {
    #expect(HTML.escape("<a href=\"x\" onclick='y'>&</a>") == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
    #expect(HTML.escape("plain ✓") == "plain ✓")
  }

  @Test func onlyLoopbackNeedsNoToken() throws {
    for loopback in ["127.0.0.1:8400", "127.1.2.3:1", "localhost:80", "[::1]:8400", "8400"] {
      #expect(try #require(ListenAddress(loopback)).isLoopback, "\(loopback)")
    }
    for other in ["0.0.0.0:8400", "10.0.0.1:80", "[::]:8400", "example.com:80", "128.0.0.1:1", "127.0.0:1"] {
      #expect(try #require(ListenAddress(other)).isLoopback == false, "\(other)")
    }
    for malformed in ["", "host:", ":80", "127.0.0.1:99999", "::1:80", "[::1]80"] {
      #expect(ListenAddress(malformed) == nil, "\(malformed)")
    }
  }

  @Test func aTokenIsAcceptedOnlyWhole() throws {
    let token = try #require(ServeToken("  secret-token\n"))
    #expect(token.accepts(authorization: "Bearer secret-token"))
    for wrong in [nil, "", "secret-token", "Bearer ", "Bearer secret-toke", "Bearer secret-tokenX", "Bearer secret-tokeN",
      "bearer secret-token", "Basic secret-token"] {
      #expect(!token.accepts(authorization: wrong), "\(wrong ?? "nil")")
    }
    #expect(ServeToken(" \n") == nil)
  }
}
