/// The exact text of a decimal stored as a little-endian two's-complement integer of 4 to 32
/// bytes and a scale: every digit kept, as `123.45` or `-0.005`.
enum ArrowDecimal {
  static func text(_ bytes: UnsafeRawBufferPointer, scale: Int) -> String {
    // The magnitude, as 32-bit words from the least significant.
    var words = stride(from: 0, to: bytes.count, by: 4).map { bytes.loadUnaligned(fromByteOffset: $0, as: UInt32.self) }
    let negative = (words.last ?? 0) & 0x8000_0000 != 0
    if negative {
      // Two's complement: invert, then add one.
      var carry: UInt64 = 1
      for index in words.indices {
        let sum = UInt64(~words[index]) + carry
        words[index] = UInt32(truncatingIfNeeded: sum)
        carry = sum >> 32
      }
    }
    var digits = digitsOf(&words)
    if scale > 0 {
      if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
      digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
    } else if scale < 0, digits != "0" {
      digits += String(repeating: "0", count: -scale)
    }
    return negative && digits.contains(where: { $0 != "0" && $0 != "." }) ? "-" + digits : digits
  }

  /// The decimal digits of a magnitude, dividing by 10⁹ until nothing is left.
  private static func digitsOf(_ words: inout [UInt32]) -> String {
    var chunks: [UInt32] = []
    while words.contains(where: { $0 != 0 }) {
      var remainder: UInt64 = 0
      for index in words.indices.reversed() {
        let current = (remainder << 32) | UInt64(words[index])
        words[index] = UInt32(current / 1_000_000_000)
        remainder = current % 1_000_000_000
      }
      chunks.append(UInt32(remainder))
    }
    guard let first = chunks.popLast() else { return "0" }
    return String(first) + chunks.reversed().map { chunk in
      let text = String(chunk)
      return String(repeating: "0", count: 9 - text.count) + text
    }.joined()
  }
}
