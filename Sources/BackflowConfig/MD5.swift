/// MD5, the digest PostgreSQL's `md5()` computes, so fingerprints can also be made inside the
/// warehouse, and the `md5` template filter. Used to detect change, not for security.
///
/// Planning digests every model row, so this reads the bytes in place (no copy, no padding
/// buffer on the heap) and runs the 64 steps unrolled with their constants inline.
public enum MD5 {
  /// The lowercase hex digest of `text`'s UTF-8 bytes, as `md5(text)` returns it in SQL.
  public static func hex(_ text: String) -> String {
    var text = text
    return text.withUTF8 { hex(UnsafeRawBufferPointer($0)) }
  }

  /// The lowercase hex digest of `bytes`.
  public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    var state = State()
    let whole = bytes.count / 64 * 64
    var offset = 0
    while offset < whole {
      state.block(bytes.baseAddress! + offset)
      offset += 64
    }
    // The last bytes, 0x80, zeros, and the bit length: one block, or two when fewer than 9 are left.
    withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
      tail.initializeMemory(as: UInt8.self, repeating: 0)
      let rest = bytes.count - whole
      if rest > 0 { tail.baseAddress!.copyMemory(from: bytes.baseAddress! + whole, byteCount: rest) }
      tail[rest] = 0x80
      let length = rest < 56 ? 64 : 128
      tail.storeBytes(of: (UInt64(bytes.count) &* 8).littleEndian, toByteOffset: length - 8, as: UInt64.self)
      state.block(tail.baseAddress!)
      if length == 128 { state.block(tail.baseAddress! + 64) }
    }
    return state.hex
  }

  private struct State {
    var a: UInt32 = 0x6745_2301
    var b: UInt32 = 0xefcd_ab89
    var c: UInt32 = 0x98ba_dcfe
    var d: UInt32 = 0x1032_5476

    var hex: String {
      String(unsafeUninitializedCapacity: 32) { output in
        // Each word's bytes in little-endian order, two hex digits a byte.
        func put(_ word: UInt32, at start: Int) {
          for index in 0..<4 {
            let byte = UInt8(truncatingIfNeeded: word >> UInt32(index * 8))
            output[start + index * 2] = MD5.digit(byte >> 4)
            output[start + index * 2 + 1] = MD5.digit(byte & 0x0f)
          }
        }
        put(a, at: 0)
        put(b, at: 8)
        put(c, at: 16)
        put(d, at: 24)
        return 32
      }
    }

    @inline(__always)
    mutating func block(_ pointer: UnsafeRawPointer) {
      @inline(__always) func word(_ index: Int) -> UInt32 {
        UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
      }
      let x0 = word(0), x1 = word(1), x2 = word(2), x3 = word(3)
      let x4 = word(4), x5 = word(5), x6 = word(6), x7 = word(7)
      let x8 = word(8), x9 = word(9), x10 = word(10), x11 = word(11)
      let x12 = word(12), x13 = word(13), x14 = word(14), x15 = word(15)
      var a = self.a
      var b = self.b
      var c = self.c
      var d = self.d

      @inline(__always) func step(
        _ a: inout UInt32, _ b: UInt32, _ f: UInt32, _ x: UInt32, _ k: UInt32, _ s: UInt32
      ) {
        let sum = a &+ f &+ x &+ k
        a = b &+ (sum << s | sum >> (32 - s))
      }
      @inline(__always) func f(_ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 { (b & c) | (~b & d) }
      @inline(__always) func g(_ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 { (d & b) | (~d & c) }
      @inline(__always) func h(_ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 { b ^ c ^ d }
      @inline(__always) func i(_ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 { c ^ (b | ~d) }

      // RFC 1321's rounds; k = floor(abs(sin(step + 1)) * 2^32).
      step(&a, b, f(b, c, d), x0, 0xd76a_a478, 7)
      step(&d, a, f(a, b, c), x1, 0xe8c7_b756, 12)
      step(&c, d, f(d, a, b), x2, 0x2420_70db, 17)
      step(&b, c, f(c, d, a), x3, 0xc1bd_ceee, 22)
      step(&a, b, f(b, c, d), x4, 0xf57c_0faf, 7)
      step(&d, a, f(a, b, c), x5, 0x4787_c62a, 12)
      step(&c, d, f(d, a, b), x6, 0xa830_4613, 17)
      step(&b, c, f(c, d, a), x7, 0xfd46_9501, 22)
      step(&a, b, f(b, c, d), x8, 0x6980_98d8, 7)
      step(&d, a, f(a, b, c), x9, 0x8b44_f7af, 12)
      step(&c, d, f(d, a, b), x10, 0xffff_5bb1, 17)
      step(&b, c, f(c, d, a), x11, 0x895c_d7be, 22)
      step(&a, b, f(b, c, d), x12, 0x6b90_1122, 7)
      step(&d, a, f(a, b, c), x13, 0xfd98_7193, 12)
      step(&c, d, f(d, a, b), x14, 0xa679_438e, 17)
      step(&b, c, f(c, d, a), x15, 0x49b4_0821, 22)

      step(&a, b, g(b, c, d), x1, 0xf61e_2562, 5)
      step(&d, a, g(a, b, c), x6, 0xc040_b340, 9)
      step(&c, d, g(d, a, b), x11, 0x265e_5a51, 14)
      step(&b, c, g(c, d, a), x0, 0xe9b6_c7aa, 20)
      step(&a, b, g(b, c, d), x5, 0xd62f_105d, 5)
      step(&d, a, g(a, b, c), x10, 0x0244_1453, 9)
      step(&c, d, g(d, a, b), x15, 0xd8a1_e681, 14)
      step(&b, c, g(c, d, a), x4, 0xe7d3_fbc8, 20)
      step(&a, b, g(b, c, d), x9, 0x21e1_cde6, 5)
      step(&d, a, g(a, b, c), x14, 0xc337_07d6, 9)
      step(&c, d, g(d, a, b), x3, 0xf4d5_0d87, 14)
      step(&b, c, g(c, d, a), x8, 0x455a_14ed, 20)
      step(&a, b, g(b, c, d), x13, 0xa9e3_e905, 5)
      step(&d, a, g(a, b, c), x2, 0xfcef_a3f8, 9)
      step(&c, d, g(d, a, b), x7, 0x676f_02d9, 14)
      step(&b, c, g(c, d, a), x12, 0x8d2a_4c8a, 20)

      step(&a, b, h(b, c, d), x5, 0xfffa_3942, 4)
      step(&d, a, h(a, b, c), x8, 0x8771_f681, 11)
      step(&c, d, h(d, a, b), x11, 0x6d9d_6122, 16)
      step(&b, c, h(c, d, a), x14, 0xfde5_380c, 23)
      step(&a, b, h(b, c, d), x1, 0xa4be_ea44, 4)
      step(&d, a, h(a, b, c), x4, 0x4bde_cfa9, 11)
      step(&c, d, h(d, a, b), x7, 0xf6bb_4b60, 16)
      step(&b, c, h(c, d, a), x10, 0xbebf_bc70, 23)
      step(&a, b, h(b, c, d), x13, 0x289b_7ec6, 4)
      step(&d, a, h(a, b, c), x0, 0xeaa1_27fa, 11)
      step(&c, d, h(d, a, b), x3, 0xd4ef_3085, 16)
      step(&b, c, h(c, d, a), x6, 0x0488_1d05, 23)
      step(&a, b, h(b, c, d), x9, 0xd9d4_d039, 4)
      step(&d, a, h(a, b, c), x12, 0xe6db_99e5, 11)
      step(&c, d, h(d, a, b), x15, 0x1fa2_7cf8, 16)
      step(&b, c, h(c, d, a), x2, 0xc4ac_5665, 23)

      step(&a, b, i(b, c, d), x0, 0xf429_2244, 6)
      step(&d, a, i(a, b, c), x7, 0x432a_ff97, 10)
      step(&c, d, i(d, a, b), x14, 0xab94_23a7, 15)
      step(&b, c, i(c, d, a), x5, 0xfc93_a039, 21)
      step(&a, b, i(b, c, d), x12, 0x655b_59c3, 6)
      step(&d, a, i(a, b, c), x3, 0x8f0c_cc92, 10)
      step(&c, d, i(d, a, b), x10, 0xffef_f47d, 15)
      step(&b, c, i(c, d, a), x1, 0x8584_5dd1, 21)
      step(&a, b, i(b, c, d), x8, 0x6fa8_7e4f, 6)
      step(&d, a, i(a, b, c), x15, 0xfe2c_e6e0, 10)
      step(&c, d, i(d, a, b), x6, 0xa301_4314, 15)
      step(&b, c, i(c, d, a), x13, 0x4e08_11a1, 21)
      step(&a, b, i(b, c, d), x4, 0xf753_7e82, 6)
      step(&d, a, i(a, b, c), x11, 0xbd3a_f235, 10)
      step(&c, d, i(d, a, b), x2, 0x2ad7_d2bb, 15)
      step(&b, c, i(c, d, a), x9, 0xeb86_d391, 21)

      self.a = self.a &+ a
      self.b = self.b &+ b
      self.c = self.c &+ c
      self.d = self.d &+ d
    }
  }

  @inline(__always)
  fileprivate static func digit(_ value: UInt8) -> UInt8 {
    value < 10 ? value + 0x30 : value + 0x57
  }
}
