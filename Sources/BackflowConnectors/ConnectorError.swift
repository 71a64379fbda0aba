/// Why a driver could not open what was asked, in words the user can act on; never a secret.
struct ConnectorError: Error, CustomStringConvertible, Sendable {
  var message: String

  init(_ message: String) {
    self.message = message
  }

  var description: String { message }
}
