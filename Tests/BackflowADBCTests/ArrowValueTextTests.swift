@testable import BackflowADBC
import Testing

/// Decimals, dates, times and timestamps from their Arrow storage to text, including the values
/// the drivers in the other suites never produce (decimal256, nanoseconds, fixed offsets).
struct ArrowValueTextTests {
  /// The little-endian two's-complement bytes of `value` in `width` bytes.
  func bytes(_ value: Int64, width: Int) -> [UInt8] {
    (0..<width).map { index in
      index < 8 ? UInt8(truncatingIfNeeded: value >> (8 * index)) : (value < 0 ? 0xFF : 0)
    }
  }

  func decimal(_ bytes: [UInt8], scale: Int) -> String {
    bytes.withUnsafeBytes { ArrowDecimal.text($0, scale: scale) }
  }

  @Test(arguments: [
    (Int64(12345), 2, "123.45"), (-5, 3, "-0.005"), (0, 2, "0.00"), (7, -2, "700"), (-123, 0, "-123"),
    (Int64.min, 0, "-9223372036854775808"),
  ])
  func decimals(value: Int64, scale: Int, expected: String) {
    for width in [8, 16, 32] {
      #expect(decimal(bytes(value, width: width), scale: scale) == expected, "width \(width)")
    }
  }

  @Test func decimal128BeyondSixtyFourBits() {
    // 2^64 + 1 = 18446744073709551617, and its negation.
    let positive: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    #expect(decimal(positive, scale: 5) == "184467440737095.51617")
    let negative: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    #expect(decimal(negative, scale: 0) == "-18446744073709551617")
  }

  @Test func dates() {
    #expect(ArrowTime.date(days: 0) == "1970-01-01")
    #expect(ArrowTime.date(days: 19782) == "2024-02-29")
    #expect(ArrowTime.date(days: -1) == "1969-12-31")
    #expect(ArrowTime.date(days: -719_528) == "0000-01-01")
  }

  @Test func timesKeepTheirUnit() {
    #expect(ArrowTime.time(49530, .seconds) == "13:45:30")
    #expect(ArrowTime.time(49_530_250, .milliseconds) == "13:45:30.250")
    #expect(ArrowTime.time(49_530_000_000_001, .nanoseconds) == "13:45:30.000000001")
  }

  @Test func timestampsKeepTheirZone() {
    let instant: Int64 = 1_709_300_730  // 2024-03-01T13:45:30Z
    #expect(ArrowTime.timestamp(instant, .seconds, zone: nil) == "2024-03-01T13:45:30")
    #expect(ArrowTime.timestamp(instant, .seconds, zone: "UTC") == "2024-03-01T13:45:30+00:00")
    #expect(ArrowTime.timestamp(instant * 1000 + 5, .milliseconds, zone: "America/New_York") == "2024-03-01T08:45:30.005-05:00")
    #expect(ArrowTime.timestamp(instant, .seconds, zone: "+05:30") == "2024-03-01T19:15:30+05:30")
    #expect(ArrowTime.timestamp(-1, .microseconds, zone: nil) == "1969-12-31T23:59:59.999999")
  }

  @Test func durations() {
    #expect(ArrowTime.duration(1_500, .milliseconds) == "PT1.500S")
    #expect(ArrowTime.duration(-2, .seconds) == "-PT2S")
  }

  @Test(arguments: [
    ("tsu:Europe/Paris", true), ("d:38,9", true), ("d:76,2,256", true), ("vu", true), ("+w:3", true),
    ("tiM", false), ("+ud:0,1", false), ("d:10", false),
  ])
  func formats(format: String, readable: Bool) {
    #expect((ArrowType(format: format) != nil) == readable)
  }

  @Test func entryPointNamedAfterTheLibrary() {
    #expect(ADBCDriver.namedEntryPoint("/x/libadbc_driver_postgresql.so") == "AdbcDriverPostgresqlInit")
    #expect(ADBCDriver.namedEntryPoint("libadbc_driver_flight_sql.so.1") == "AdbcDriverFlightSqlInit")
  }
}
