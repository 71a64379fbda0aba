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
    var components = rest
    components.scheme = scheme
    var path = components.percentEncodedPath
    while path.hasSuffix("/") { path.removeLast() }
    let encoded = object.addingPercentEncoding(withAllowedCharacters: Self.objectAllowed) ?? object
    components.percentEncodedPath = path + "/" + encoded.drop { $0 == "/" }
    return components.string ?? rest.string ?? ""
  }

  /// The path characters of RFC 3986 less `;`, which some servers read as a parameter separator.
  private static let objectAllowed: CharacterSet = {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(";")
    return allowed
  }()
}
