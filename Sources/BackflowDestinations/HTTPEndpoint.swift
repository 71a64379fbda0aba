import Foundation

/// The base URL of an http destination, checked once, and the request URL of an object under it.
struct HTTPEndpoint: Sendable {
  /// Why a `url:` cannot be used; names no part of the URL, which may be a secret.
  struct Problem: Error {
    var message: String
  }

  private let scheme: String
  private let rest: URLComponents

  init(_ text: String) throws(Problem) {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { throw Problem(message: "url is empty") }
    guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased()
    else { throw Problem(message: "url is not a valid URL") }
    guard scheme == "http" || scheme == "https" else {
      throw Problem(message: "url must start with http:// or https://")
    }
    guard let host = components.host, !host.isEmpty else { throw Problem(message: "url has no host") }
    guard components.fragment == nil else { throw Problem(message: "url must not have a #fragment") }
    self.scheme = scheme
    self.rest = components
  }

  /// `{url}/{object}`: the object is appended to the URL's path (a trailing slash or not), its
  /// characters percent-encoded, its slashes kept; a query string stays at the end.
  func url(for object: String) -> String {
    url(path: object, allowed: Self.objectAllowed, query: [])
  }

  /// `{url}{path}?{query}` for a rest request: `path` as rendered (its percent-escapes kept, a
  /// leading slash optional) joined to the URL's own path; the URL's query parameters first, then
  /// `query`'s, their values percent-encoded.
  func url(path: String, query: [(String, String)]) -> String {
    url(path: path, allowed: Self.renderedPathAllowed, query: query)
  }

  /// `path`, its characters outside `allowed` percent-encoded, joined to the URL's path.
  private func url(path: String, allowed: CharacterSet, query: [(String, String)]) -> String {
    var components = rest
    components.scheme = scheme
    var base = components.percentEncodedPath
    while base.hasSuffix("/") { base.removeLast() }
    let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    components.percentEncodedPath = base + "/" + encoded.drop { $0 == "/" }
    if !query.isEmpty {
      let added = query.map { name, value in
        Self.queryEncoded(name) + "=" + Self.queryEncoded(value)
      }
      components.percentEncodedQuery = ((components.percentEncodedQuery.map { [$0] } ?? []) + added).joined(separator: "&")
    }
    return components.string ?? rest.string ?? ""
  }

  private static func queryEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? text
  }

  /// Path characters plus `%` (a template's `url_encode` already escaped what it needed) and `?`
  /// is not among them: a rendered path cannot smuggle a query string past `query:`.
  private static let renderedPathAllowed: CharacterSet = {
    var allowed = CharacterSet.urlPathAllowed
    allowed.insert("%")
    return allowed
  }()

  /// RFC 3986's unreserved characters: everything else in a query name or value is escaped.
  private static let queryAllowed = CharacterSet(
    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

  /// The path characters of RFC 3986 less `;`, which some servers read as a parameter separator.
  private static let objectAllowed: CharacterSet = {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(";")
    return allowed
  }()
}
