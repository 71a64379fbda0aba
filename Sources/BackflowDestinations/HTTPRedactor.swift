import Foundation

/// Removes a destination's secrets from text that is about to become a message: header values
/// and the URL may come from the environment, and a server's error body may echo them back
/// ("invalid token Bearer …").
public struct HTTPRedactor: Sendable {
  static let replacement = "[redacted]"
  /// Shorter values are not hunted for in messages: a header such as `X-Version: 2` is no
  /// credential, and replacing every "2" would garble the message.
  static let minimumLength = 4

  /// Longest first, so a whole value goes before the token inside it.
  private let secrets: [String]

  public init(headerValues: [String], url: String) {
    var secrets: Set<String> = []
    func add(_ value: String?) {
      guard let value = value?.trimmingCharacters(in: .whitespaces), value.count >= Self.minimumLength
      else { return }
      secrets.insert(value)
    }
    for value in headerValues {
      add(value)
      // "Bearer abc", "Basic abc": the credential alone is a secret too.
      let words = value.split(separator: " ", omittingEmptySubsequences: true)
      for word in words.dropFirst() { add(String(word)) }
    }
    add(url)
    if let components = URLComponents(string: url) {
      add(components.user)
      add(components.password)
      add(components.percentEncodedUser)
      add(components.percentEncodedPassword)
      add(components.query)
      add(components.percentEncodedQuery)
      for item in components.queryItems ?? [] { add(item.value) }
    }
    self.secrets = secrets.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
  }

  public func callAsFunction(_ text: String) -> String {
    secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: Self.replacement) }
  }
}
