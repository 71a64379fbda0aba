import Foundation

/// The bearer token every request but `/healthz` must carry. Read from the environment or a file,
/// never from the command line, where `ps` shows it.
public struct ServeToken: Sendable {
  public static let environmentVariable = "BACKFLOW_SERVE_TOKEN"

  private let bytes: [UInt8]

  public init?(_ text: String) {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { return nil }
    bytes = Array(trimmed.utf8)
  }

  /// The token from `--token-file` when given, else from `BACKFLOW_SERVE_TOKEN`; `nil` when
  /// neither is set. An unreadable or empty file is an error that names it.
  public static func resolve(file: String?, environment: [String: String]) throws -> ServeToken? {
    if let file {
      let text: String
      do {
        text = try String(contentsOfFile: file, encoding: .utf8)
      } catch {
        throw TokenError("could not read the token file \(file): \(error.localizedDescription)")
      }
      guard let token = ServeToken(text) else { throw TokenError("the token file \(file) is empty") }
      return token
    }
    guard let value = environment[environmentVariable] else { return nil }
    guard let token = ServeToken(value) else { throw TokenError("\(environmentVariable) is set but empty") }
    return token
  }

  /// Whether an `Authorization` header carries this token, compared in constant time: as long
  /// for any wrong token of the same length, so timing does not tell how much of it was right.
  public func accepts(authorization: String?) -> Bool {
    guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
    let given = Array(authorization.utf8.dropFirst("Bearer ".utf8.count))
    var difference = UInt8(given.count == bytes.count ? 0 : 1)
    for index in bytes.indices {
      difference |= bytes[index] ^ (index < given.count ? given[index] : 0)
    }
    return difference == 0
  }
}

public struct TokenError: Error, CustomStringConvertible, Sendable {
  public var description: String

  public init(_ description: String) {
    self.description = description
  }
}
