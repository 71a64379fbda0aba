/// A config value with the place it was written, and whether it came from the environment.
public struct Located<Value: Sendable>: Sendable {
  public var value: Value
  public var location: SourceLocation
  /// True when the value was read through `${NAME}`: it must never be printed, logged or stored.
  public var isSecret: Bool
  /// For a secret, the text as written in the file (`Bearer ${CRM_TOKEN}`): it names the variable,
  /// never its value, so stored config can notice a changed reference.
  public var written: String?

  public init(_ value: Value, at location: SourceLocation, isSecret: Bool = false, written: String? = nil) {
    self.value = value
    self.location = location
    self.isSecret = isSecret
    self.written = isSecret ? written : nil
  }

  /// The same place and secrecy, another value: for values parsed out of a string.
  public func map<Other>(_ transform: (Value) throws -> Other) rethrows -> Located<Other> {
    Located<Other>(try transform(value), at: location, isSecret: isSecret, written: written)
  }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

extension Located: Encodable where Value: Encodable {
  /// What stands in for a secret whose written text is unknown wherever config is serialised.
  public static var redacted: String { "(secret)" }

  /// A secret serialises as the text written in the file, which names variables but holds no value.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    if isSecret {
      try container.encode(written ?? Self.redacted)
    } else {
      try container.encode(value)
    }
  }
}

extension Located where Value == String {
  /// The value quoted for a message, credentials masked (`Redaction`), or a neutral phrase when
  /// it is a secret.
  public var quotedForMessage: String {
    isSecret ? "the value read from the environment" : "\"\(Redaction.redact(value))\""
  }
}
