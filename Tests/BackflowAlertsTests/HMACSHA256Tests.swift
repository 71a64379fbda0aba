import BackflowConfig
import BackflowAlerts
import Testing

/// FIPS 180-4 examples and RFC 4231's HMAC-SHA256 test cases.
@Suite("HMAC-SHA256")
struct HMACSHA256Tests {
  static func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
  }

  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
  ])
  func digestsMatchFIPSExamples(message: String, digest: String) {
    #expect(Self.hex(SHA256.digest(Array(message.utf8))) == digest)
  }

  /// Sixteen blocks and a partial one; the digest is Python's `hashlib.sha256`.
  @Test func digestOfAThousandBytes() {
    let message = (0..<1000).map { UInt8(($0 * 7 + 3) % 256) }
    #expect(Self.hex(SHA256.digest(message)) == "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371")
  }

  @Test func rfc4231TestCases() {
    // Case 1: a 20-byte key.
    #expect(
      HMACSHA256.hex(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    // Case 2: a key shorter than the block.
    #expect(
      HMACSHA256.hex(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    // Case 6: a key longer than the block is hashed first.
    #expect(
      HMACSHA256.hex(
        key: [UInt8](repeating: 0xaa, count: 131),
        message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
  }
}
