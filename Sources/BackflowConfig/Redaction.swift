/// Masks the credentials in any text that may hold a connection string, URL or key=value string,
/// wherever Backflow shows or keeps it: text, JSON and Markdown output, GitHub summaries, logs,
/// plan files, state (the applied config included) and error messages.
///
/// Works on text, not on a parsed URL, so it also masks strings that fail to parse: a password
/// holding an unencoded `@`, `/` or `%` is masked whole, up to the last `@` before the next blank
/// or quote. It masks too much rather than too little when unsure. `${NAME}` names a variable,
/// not its value, and stays readable.
public enum Redaction {
  /// What stands in for a masked password, token or key.
  public static let mask = "***"

  /// `text` with every URL password (`scheme://user:PASSWORD@host`) and the value of every
  /// parameter whose name ends in password, passwd, pwd, token, secret or key (`password=`,
  /// `sslpassword=`, `access_token=`, `token=`, `key=`, `api_key=`…) replaced by `***`.
  public static func redact(_ text: String) -> String {
    // Most texts (row errors by the thousand) hold neither; the regular expression costs more.
    guard text.contains("=") || text.contains("://") else { return text }
    return maskingParameters(in: maskingUserInfo(in: text))
  }

  /// Masks what follows the first `:` of each URL's user information.
  private static func maskingUserInfo(in text: String) -> String {
    var result = ""
    var rest = Substring(text)
    while let separator = rest.range(of: "://") {
      result += rest[..<separator.upperBound]
      let afterScheme = rest[separator.upperBound...]
      // The URL ends at a blank or a quote; `/`, `?` and `#` do not end the search for `@`, since
      // an unencoded password may contain them.
      let end = afterScheme.firstIndex { $0.isWhitespace || "\"'`<>".contains($0) } ?? afterScheme.endIndex
      let url = afterScheme[..<end]
      if let at = url.lastIndex(of: "@"), let colon = url[..<at].firstIndex(of: ":"),
        !isReference(url[url.index(after: colon)..<at])
      {
        result += url[...colon] + mask + url[at...]
      } else {
        result += url
      }
      rest = afterScheme[end...]
    }
    return result + rest
  }

  /// `${NAME}`, which names a variable rather than holding its value.
  private static func isReference(_ text: Substring) -> Bool {
    text.hasPrefix("${") && text.hasSuffix("}") && !text.dropFirst(2).contains("$")
  }

  /// Masks the values of `key=value` pairs whose key names a password, token, secret or key, in
  /// URL queries and key=value strings alike; a quoted value is masked up to its closing quote, an
  /// unquoted one up to the next separator, blank or double quote (which ends a JSON string).
  private static func maskingParameters(in text: String) -> String {
    let parameter =
      /(?i)(?<key>(?:^|[?&;,\s({\["'])[a-z_.\-]*(?:password|passwd|pwd|token|secret|key))\s*=\s*(?<value>'[^']*'?|"[^"]*"?|[^&;,\s"]*)/
    return text.replacing(parameter) { match in
      let value = match.output.value
      guard !value.isEmpty, !isReference(value) else { return String(match.output.0) }
      return match.output.key + "=" + mask
    }
  }
}
