import BackflowSources

/// What a row's fingerprint covers: the columns a sync uses, and how it maps them.
///
/// The mapping is part of every fingerprint, so a mapping change shows as every row changed: the
/// destination would hold different values for each of them.
public struct Fingerprint: Sendable, Equatable {
  /// A digest of the sync's match and mappings.
  public var signature: String

  public init(signature: String) {
    self.signature = signature
  }

  /// The fingerprint of a row whose used columns hold `values`, in sorted column order.
  ///
  /// It is `md5(signature || E'\n' || ROW(columns…)::text)` in PostgreSQL's terms, so the same
  /// fingerprint can be computed inside the warehouse.
  public func of(_ values: [FieldValue]) -> String {
    MD5.hex(signature + "\n" + Self.recordText(values))
  }

  /// PostgreSQL's text form of a row value (`record_out`): `(1,"a b",)` for 1, "a b" and NULL.
  static func recordText(_ values: [FieldValue]) -> String {
    var text = "("
    for (index, value) in values.enumerated() {
      if index > 0 { text += "," }
      guard let field = value.text else { continue }
      let needsQuotes = field.isEmpty || field.utf8.contains { byte in Self.specialBytes.contains(byte) }
      guard needsQuotes else {
        text += field
        continue
      }
      text += "\""
      for character in field.unicodeScalars {
        if character == "\"" || character == "\\" { text.unicodeScalars.append(character) }
        text.unicodeScalars.append(character)
      }
      text += "\""
    }
    return text + ")"
  }

  /// `"`, `\`, `(`, `)`, `,` and C's isspace set: what record_out quotes.
  private static let specialBytes: Set<UInt8> = [0x22, 0x5C, 0x28, 0x29, 0x2C, 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
}
