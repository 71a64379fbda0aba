/// Where the web server listens: `HOST:PORT`, `[IPv6]:PORT`, or a bare port on 127.0.0.1.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
  public static let defaultAddress = ListenAddress(host: "127.0.0.1", port: 8400)

  public var host: String
  public var port: Int

  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// `nil` when `text` is not an address with a port from 0 to 65535 (0: any free port).
  public init?(_ text: String) {
    var host = "127.0.0.1"
    var portText = Substring(text)
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
      host = String(text[text.index(after: text.startIndex)..<close])
      portText = text[text.index(close, offsetBy: 2)...]
    } else if let colon = text.lastIndex(of: ":") {
      host = String(text[..<colon])
      portText = text[text.index(after: colon)...]
      guard !host.contains(":") else { return nil }
    }
    guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
    self.host = host
    self.port = port
  }

  /// Loopback only: 127.0.0.0/8, ::1 and localhost. Anything else needs a token.
  public var isLoopback: Bool {
    let lowered = host.lowercased()
    if lowered == "localhost" || lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
    let parts = lowered.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
    return parts[0] == "127"
  }

  public var description: String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }
}
