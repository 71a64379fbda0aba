import BackflowConfig
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
  /// fingerprint can be computed inside the warehouse. The text is built as bytes in one buffer
  /// and digested in place: this runs once per model row.
  public func of(_ values: [FieldValue]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(signature.utf8.count + 2 + values.count * 16)
    bytes.append(contentsOf: signature.utf8)
    bytes.append(0x0A)
    Self.appendRecordText(values, to: &bytes)
    return bytes.withUnsafeBytes { MD5.hex($0) }
  }

  /// PostgreSQL's text form of a row value (`record_out`): `(1,"a b",)` for 1, "a b" and NULL.
  static func recordText(_ values: [FieldValue]) -> String {
    var bytes: [UInt8] = []
    appendRecordText(values, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
  }

  static func appendRecordText(_ values: [FieldValue], to bytes: inout [UInt8]) {
    bytes.append(UInt8(ascii: "("))
    for (index, value) in values.enumerated() {
      if index > 0 { bytes.append(UInt8(ascii: ",")) }
      switch value {
      case .null: continue
      case let .bool(flag): bytes.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
      // Digits and a minus sign never need quotes.
      case let .integer(number): bytes.append(contentsOf: String(number).utf8)
      case let .number(text), let .string(text), let .json(text): appendField(text, to: &bytes)
      }
    }
    bytes.append(UInt8(ascii: ")"))
  }

  /// One field as record_out writes it: quoted when empty or holding a special byte, with `"`
  /// and `\` doubled inside the quotes. Byte by byte, which is the same as by scalar: every
  /// special character is ASCII, and no byte of a multi-byte UTF-8 sequence is.
  private static func appendField(_ text: String, to bytes: inout [UInt8]) {
    let utf8 = text.utf8
    let plain = utf8.withContiguousStorageIfAvailable { !$0.isEmpty && !$0.contains(where: isSpecial) }
    if plain ?? (!utf8.isEmpty && !utf8.contains(where: isSpecial)) {
      bytes.append(contentsOf: utf8)
      return
    }
    bytes.append(UInt8(ascii: "\""))
    for byte in utf8 {
      if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(byte) }
      bytes.append(byte)
    }
    bytes.append(UInt8(ascii: "\""))
  }

  /// `"`, `\`, `(`, `)`, `,` and C's isspace set: what record_out quotes.
  @inline(__always)
  private static func isSpecial(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x22, 0x5C, 0x28, 0x29, 0x2C, 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D: true
    default: false
    }
  }
}
