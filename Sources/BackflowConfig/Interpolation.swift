/// `${NAME}` and `${NAME:-default}` in config values, read from the environment.
///
/// A value that contains any `${…}` is a secret, even when its default was used, so that what
/// Backflow prints or stores does not depend on which variables happen to be set. `$${` is a
/// literal `${`.
public struct Interpolation: Sendable, Equatable {
  public var value: String
  public var isSecret: Bool
  /// Variables that were referenced without a default and are not set.
  public var missingVariables: [String]
  /// Set when a `${` is never closed or names no valid variable.
  public var syntaxError: String?

  public static func resolve(_ text: String, environment: [String: String]) -> Interpolation {
    var result = Interpolation(value: "", isSecret: false, missingVariables: [], syntaxError: nil)
    var rest = Substring(text)
    while let dollar = rest.firstIndex(of: "$") {
      result.value += rest[..<dollar]
      let afterDollar = rest[rest.index(after: dollar)...]
      if afterDollar.hasPrefix("${") {
        result.value += "${"
        rest = afterDollar.dropFirst(2)
        continue
      }
      guard afterDollar.hasPrefix("{") else {
        result.value += "$"
        rest = afterDollar
        continue
      }
      guard let close = afterDollar.firstIndex(of: "}") else {
        result.syntaxError = "\"${\" is not closed with \"}\""
        result.value += rest
        return result
      }
      let body = afterDollar[afterDollar.index(after: afterDollar.startIndex)..<close]
      let (name, fallback) = split(body)
      guard name.isPlainName() else {
        result.syntaxError = "\"${\(body)}\" does not name an environment variable (letters, digits and _)"
        return result
      }
      result.isSecret = true
      // As in the shell, `:-` also replaces a variable that is set but empty.
      if let set = environment[String(name)], !(set.isEmpty && fallback != nil) {
        result.value += set
      } else if let fallback {
        result.value += fallback
      } else {
        result.missingVariables.append(String(name))
      }
      rest = afterDollar[afterDollar.index(after: close)...]
    }
    result.value += rest
    return result
  }

  private static func split(_ body: Substring) -> (name: Substring, fallback: Substring?) {
    guard let marker = body.range(of: ":-") else { return (body, nil) }
    return (body[..<marker.lowerBound], body[marker.upperBound...])
  }
}
