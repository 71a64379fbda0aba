import Foundation

/// Masks what could be a secret in text shown on a page: the password in a URL's user info and
/// the values of `password=`, `sslpassword=`, `access_token=`, `token=` and `key=` parameters
/// (URL queries and libpq key=value strings alike). `${NAME}` references name a variable, not its
/// value, and stay readable.
enum SecretMask {
  private static let userInfo = try? NSRegularExpression(pattern: #"(://[^/:@\s"]*):([^@\s"/]+)@"#)
  private static let parameter = try? NSRegularExpression(
    pattern: #"(?i)\b((?:ssl)?password|access_token|token|key)=(?!\$\{)('[^']*'|[^&\s"',;]+)"#)

  static func mask(_ text: String) -> String {
    var masked = text
    for (expression, template) in [(userInfo, "$1:***@"), (parameter, "$1=***")] {
      guard let expression else { continue }
      masked = expression.stringByReplacingMatches(
        in: masked, range: NSRange(masked.startIndex..., in: masked), withTemplate: template)
    }
    return masked
  }
}
