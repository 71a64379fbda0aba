import Foundation

/// Where and how to connect to a MySQL or MariaDB server, usually read from a
/// `mysql://USER:PASSWORD@HOST:PORT/DATABASE` URL.
///
/// `description`, `debugDescription` and `dump` show the URL with its password masked.
public struct MySQLConfiguration: Sendable, Equatable {
  /// The server's host name or address; `nil` or `localhost` connects through the Unix socket.
  public var host: String?
  /// The TCP port; 3306 unless the URL names another.
  public var port: Int
  /// The user; `nil` lets Connector/C use the login name.
  public var user: String?
  /// Never shown by `description`, `debugDescription` or `dump`.
  public var password: String?
  /// The default database; `nil` for none.
  public var database: String?
  /// A Unix socket to connect through instead of TCP (`?socket=/path` in a URL).
  public var socketPath: String?
  /// How long to wait for the server to accept the connection; `nil` leaves it to the system.
  public var connectTimeout: Duration?
  /// How long one read from the server may wait, so a hung server or network does not hang the
  /// client forever; `nil` waits as long as it takes (a long query sends nothing until its
  /// first row).
  public var readTimeout: Duration?
  /// How long one write to the server may wait; `nil` waits as long as it takes.
  public var writeTimeout: Duration?

  /// The port a URL without one means.
  public static let defaultPort = 3306

  /// Makes a configuration from its parts; a 10-second connect timeout unless told otherwise.
  public init(
    host: String? = nil, port: Int = defaultPort, user: String? = nil, password: String? = nil,
    database: String? = nil, socketPath: String? = nil, connectTimeout: Duration? = .seconds(10),
    readTimeout: Duration? = nil, writeTimeout: Duration? = nil
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.password = password
    self.database = database
    self.socketPath = socketPath
    self.connectTimeout = connectTimeout
    self.readTimeout = readTimeout
    self.writeTimeout = writeTimeout
  }

  /// Reads `mysql://USER:PASSWORD@HOST:PORT/DATABASE` (or `mariadb://`): user and password are
  /// percent-decoded, the port defaults to 3306, and the query may hold `socket` (or
  /// `unix_socket`), `connect_timeout`, `read_timeout` and `write_timeout` (whole seconds).
  ///
  /// Errors never quote the URL, which may hold a password; they name only what is wrong.
  public init(url: String) throws {
    guard let components = URLComponents(string: url), let scheme = components.scheme else {
      throw MySQLError(
        message: "not a valid MySQL URL (expected mysql://USER:PASSWORD@HOST:PORT/DATABASE)")
    }
    guard ["mysql", "mariadb"].contains(scheme.lowercased()) else {
      // Not quoted: in a URL missing its scheme, what parses as one may be a user or host name.
      throw MySQLError(message: "a MySQL URL starts with mysql:// or mariadb://")
    }
    self.init()
    // An IPv6 address keeps its brackets in `host`; Connector/C wants the bare address.
    if let name = components.host, !name.isEmpty {
      host = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
    }
    if let port = components.port {
      guard (1...65_535).contains(port) else {
        throw MySQLError(message: "the port of a MySQL URL must be between 1 and 65535")
      }
      self.port = port
    }
    user = components.user.flatMap { $0.isEmpty ? nil : $0 }
    password = components.password
    let path =
      components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
    guard !path.contains("/") else {
      throw MySQLError(message: "the path of a MySQL URL is one database name, without '/'")
    }
    database = path.isEmpty ? nil : path
    for item in components.queryItems ?? [] {
      switch item.name {
      case "socket", "unix_socket":
        socketPath = try Self.nonEmpty(item)
      case "connect_timeout":
        connectTimeout = try Self.seconds(item)
      case "read_timeout":
        readTimeout = try Self.seconds(item)
      case "write_timeout":
        writeTimeout = try Self.seconds(item)
      default:
        // The key is named, not its value, which could be a secret.
        throw MySQLError(
          message: """
            unknown MySQL URL parameter "\(item.name)" (known: socket, unix_socket, \
            connect_timeout, read_timeout, write_timeout)
            """)
      }
    }
  }

  private static func nonEmpty(_ item: URLQueryItem) throws -> String {
    guard let value = item.value, !value.isEmpty else {
      throw MySQLError(message: "the MySQL URL parameter \(item.name) needs a value")
    }
    return value
  }

  private static func seconds(_ item: URLQueryItem) throws -> Duration {
    guard let seconds = Int(try nonEmpty(item)), seconds > 0 else {
      throw MySQLError(
        message: "the MySQL URL parameter \(item.name) is a whole number of seconds above 0")
    }
    return .seconds(seconds)
  }
}

extension MySQLConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
  /// The configuration as a URL, its password replaced by `***`.
  public var description: String {
    var text = "mysql://"
    if let user {
      text += Self.encoded(user)
      if password != nil { text += ":***" }
      text += "@"
    }
    if let host { text += host.contains(":") ? "[\(host)]" : host }
    if port != Self.defaultPort { text += ":\(port)" }
    text += "/" + (database.map { Self.encoded($0) } ?? "")
    var parameters: [String] = []
    if let socketPath { parameters.append("socket=" + Self.encoded(socketPath, keeping: "/")) }
    if let connectTimeout {
      parameters.append("connect_timeout=\(Self.wholeSeconds(connectTimeout))")
    }
    if let readTimeout { parameters.append("read_timeout=\(Self.wholeSeconds(readTimeout))") }
    if let writeTimeout { parameters.append("write_timeout=\(Self.wholeSeconds(writeTimeout))") }
    if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
    return text
  }

  /// The same as `description`, so `String(reflecting:)` never shows the password either.
  public var debugDescription: String { description }


  /// `text` percent-encoded but for unreserved characters (and `keeping`), so that it reads back
  /// the same from any part of a URL.
  private static func encoded(_ text: String, keeping: String = "") -> String {
    let ascii = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
    let allowed = CharacterSet(charactersIn: ascii + keeping)
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }

  /// Whole seconds, rounded up, since Connector/C counts in seconds and 0 would mean no limit.
  static func wholeSeconds(_ duration: Duration) -> UInt32 {
    let (seconds, attoseconds) = duration.components
    let rounded = seconds + (attoseconds > 0 ? 1 : 0)
    return UInt32(clamping: max(1, rounded))
  }
}

extension MySQLConfiguration: CustomReflectable {
  /// `dump` and debuggers see the configuration as its masked URL.
  public var customMirror: Mirror { Mirror(self, children: ["url": description]) }
}
