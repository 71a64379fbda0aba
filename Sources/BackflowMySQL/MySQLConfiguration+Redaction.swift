extension MySQLConfiguration {
  /// `text` with every URL password (`scheme://user:PASSWORD@host`) and every password or token
  /// parameter (`password=…`, `pwd=…`, `sslpassword=…`, `token=…`, `key=…`) replaced by `***`.
  ///
  /// Works on text, not on a parsed URL, so it also masks URLs that fail to parse: a password
  /// holding an unencoded `@`, `/` or `%` is masked whole, up to the last `@` before the next
  /// blank or quote. It masks too much rather than too little when unsure.
  public static func redacting(_ text: String) -> String {
    maskingParameters(in: maskingUserInfo(in: text))
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
      let end =
        afterScheme.firstIndex { $0.isWhitespace || "\"'`<>".contains($0) } ?? afterScheme.endIndex
      let url = afterScheme[..<end]
      if let at = url.lastIndex(of: "@"), let colon = url[..<at].firstIndex(of: ":") {
        result += url[...colon] + "***" + url[at...]
      } else {
        result += url
      }
      rest = afterScheme[end...]
    }
    return result + rest
  }

  /// Masks the values of `key=value` pairs whose key names a password, token or key, in URL
  /// queries and key=value strings alike; a quoted value is masked up to its closing quote.
  private static func maskingParameters(in text: String) -> String {
    let parameter =
      /(?i)(?<key>(?:^|[?&;,\s])[a-z_.\-]*(?:password|passwd|pwd|token|secret|key))\s*=\s*(?<value>'[^']*'?|"[^"]*"?|[^&;,\s]*)/
    return text.replacing(parameter) { match in
      match.output.value.isEmpty ? String(match.output.0) : match.output.key + "=***"
    }
  }
}
