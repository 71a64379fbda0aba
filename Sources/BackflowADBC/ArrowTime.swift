import BackflowConfig
import Foundation

/// Dates, times, timestamps and durations as ISO 8601 text, the unit's digits kept after the
/// seconds' point and a timestamp's time zone kept as its offset.
enum ArrowTime {
  /// `YYYY-MM-DD` for days since 1970-01-01, in the proleptic Gregorian calendar.
  static func date(days: Int64) -> String {
    let (year, month, day) = CivilCalendar.date(fromDays: Int(days))
    let yearText = year < 0 ? "-" + pad(Int64(-year), 4) : pad(Int64(year), 4)
    return "\(yearText)-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))"
  }

  /// `HH:MM:SS[.fraction]` for a time of day in `unit`s since midnight.
  static func time(_ value: Int64, _ unit: ArrowType.TimeUnit) -> String {
    let seconds = floorDivide(value, unit.perSecond)
    let fraction = value - seconds * unit.perSecond
    return "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))" + fractionText(fraction, unit)
  }

  /// `YYYY-MM-DDTHH:MM:SS[.fraction]`, with the zone's offset (`+01:00`) when the column has one.
  static func timestamp(_ value: Int64, _ unit: ArrowType.TimeUnit, zone: String?) -> String {
    var seconds = floorDivide(value, unit.perSecond)
    let fraction = value - seconds * unit.perSecond
    var suffix = ""
    if let zone {
      let offset = offset(of: zone, at: seconds)
      seconds += Int64(offset)
      let magnitude = abs(offset)
      suffix = (offset < 0 ? "-" : "+") + "\(pad(Int64(magnitude / 3600), 2)):\(pad(Int64(magnitude / 60 % 60), 2))"
    }
    let days = floorDivide(seconds, 86_400)
    return date(days: days) + "T" + time((seconds - days * 86_400) * unit.perSecond + fraction, unit) + suffix
  }

  /// `PT…S`: the duration in seconds, with the unit's digits.
  static func duration(_ value: Int64, _ unit: ArrowType.TimeUnit) -> String {
    let sign = value < 0 ? "-" : ""
    let magnitude = value.magnitude
    let perSecond = UInt64(unit.perSecond)
    return "\(sign)PT\(magnitude / perSecond)" + fractionText(Int64(magnitude % perSecond), unit) + "S"
  }

  static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return value % divisor < 0 ? quotient - 1 : quotient
  }

  private static func fractionText(_ fraction: Int64, _ unit: ArrowType.TimeUnit) -> String {
    unit.fractionDigits == 0 ? "" : "." + pad(fraction, unit.fractionDigits)
  }

  /// Seconds east of UTC: a fixed offset (`+05:30`) or an IANA zone at that instant.
  private static func offset(of zone: String, at seconds: Int64) -> Int {
    if let sign = zone.first, sign == "+" || sign == "-", zone.count >= 3 {
      let digits = zone.dropFirst().split(separator: ":").compactMap { Int($0) }
      let hours = digits.first ?? 0
      let minutes = digits.count > 1 ? digits[1] : 0
      return (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
    }
    return TimeZone(identifier: zone)?.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))) ?? 0
  }

  private static func pad(_ number: Int64, _ width: Int) -> String {
    let text = String(number)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}
