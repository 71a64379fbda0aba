import BackflowConfig

/// HMAC-SHA256 (RFC 2104) over BackflowConfig's `SHA256`, for `X-Backflow-Signature`. Checked
/// against RFC 4231's test vectors.
public enum HMACSHA256 {
  /// The lowercase hex HMAC-SHA256 of `message` under `key`.
  public static func hex(key: [UInt8], message: [UInt8]) -> String {
    SHA256.hex(bytes: authenticationCode(key: key, message: message))
  }

  public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var block = key.count > 64 ? SHA256.digest(key) : key
    block += [UInt8](repeating: 0, count: 64 - block.count)
    let inner = SHA256.digest(block.map { $0 ^ 0x36 } + message)
    return SHA256.digest(block.map { $0 ^ 0x5c } + inner)
  }
}
