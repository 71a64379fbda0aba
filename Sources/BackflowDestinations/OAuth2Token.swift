import BackflowConfig
import Foundation

/// An OAuth2 access token from the client credentials grant (RFC 6749, section 4.4), fetched
/// on first need, kept in memory only (never in state, logs or plan files), renewed shortly
/// before `expires_in` runs out and when the API answers 401. Requests that need it while it is
/// being fetched wait for that one fetch.
public actor OAuth2Token {
  /// The `auth: { oauth2: … }` settings.
  public struct Settings: Sendable {
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: String
    public var scope: String?
    /// Client authentication: HTTP basic (the default, RFC 6749's recommendation) or the
    /// credentials in the form body.
    public var basicClientAuthentication: Bool
    /// Extra token parameters (`audience`, `resource`).
    public var parameters: [(String, String)]

    public init(
      tokenURL: String, clientID: String, clientSecret: String, scope: String?, basicClientAuthentication: Bool,
      parameters: [(String, String)]
    ) {
      self.tokenURL = tokenURL
      self.clientID = clientID
      self.clientSecret = clientSecret
      self.scope = scope
      self.basicClientAuthentication = basicClientAuthentication
      self.parameters = parameters
    }
  }

  private struct Issued {
    var value: String
    var renewAt: ContinuousClock.Instant?
  }

  private let settings: Settings
  private var issued: Issued?
  private var fetching: Task<Issued, any Error>?

  public init(_ settings: Settings) {
    self.settings = settings
  }

  /// The current token, fetched through `transport` when there is none or it is about to expire.
  func value(through transport: HTTPTransport) async throws -> String {
    if let issued, issued.renewAt.map({ ContinuousClock.now < $0 }) ?? true { return issued.value }
    if let fetching { return try await fetching.value.value }
    let task = Task { try await fetch(through: transport) }
    fetching = task
    defer { fetching = nil }
    let fresh = try await task.value
    issued = fresh
    return fresh.value
  }

  /// Forgets `value` after the API refused it, so the next request fetches another; a token
  /// already renewed by another request is kept.
  func refused(_ value: String) {
    if issued?.value == value { issued = nil }
  }

  private func fetch(through transport: HTTPTransport) async throws -> Issued {
    var form = [("grant_type", "client_credentials")]
    var headers = [("Content-Type", "application/x-www-form-urlencoded")]
    if settings.basicClientAuthentication {
      let pair = Self.formEncoded(settings.clientID) + ":" + Self.formEncoded(settings.clientSecret)
      headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
    } else {
      form += [("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
    }
    if let scope = settings.scope { form.append(("scope", scope)) }
    form += settings.parameters
    let body = form.map { Self.formEncoded($0) + "=" + Self.formEncoded($1) }.joined(separator: "&")
    let started = ContinuousClock.now
    let delivery = try await transport.deliver(
      HTTPTransport.Outgoing(method: .POST, url: settings.tokenURL, headers: headers, body: body),
      requestLine: "POST token_url", traced: false)
    switch delivery {
    case let .failed(reason, _, _):
      throw DestinationError("destination \(transport.name): the OAuth2 token request failed: \(reason)")
    case let .accepted(answer):
      guard let json = try? JSONValue.parse(answer), case let .string(token)? = json["access_token"], !token.isEmpty
      else {
        throw DestinationError(
          "destination \(transport.name): the OAuth2 token answer has no access_token (RFC 6749 section 5.1)")
      }
      // Renewed a tenth early, at most a minute, so a token never expires in flight.
      let lifetime = json["expires_in"].flatMap { ResultPath.text(of: $0) }.flatMap(Double.init)
      let renewAt = lifetime.map { started + .seconds(max(0, $0 - min(60, $0 / 10))) }
      return Issued(value: token, renewAt: renewAt)
    }
  }

  /// `application/x-www-form-urlencoded`, as RFC 6749 appendix B asks for the client's id and
  /// secret too.
  private static func formEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: formAllowed)?.replacingOccurrences(of: "%20", with: "+") ?? text
  }

  private static let formAllowed = CharacterSet(
    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
