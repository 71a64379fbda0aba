/// A date or timestamp as a database prints it, for the `date` filter: the wall-clock fields as
/// written and the offset, if any, so `%H` shows the hour that was printed. Text without an
/// offset is read as UTC.
struct TemplateTimestamp: Equatable {
  var year: Int
  var month: Int
  var day: Int
  var hour = 0
  var minute = 0
  var second = 0
  var nanosecond = 0
  /// Seconds east of UTC; nil when the text had none.
  var offset: Int?

  /// Seconds since 1970-01-01 00:00:00 UTC.
  init(epoch seconds: Int) {
    let days = Self.floorDivide(seconds, 86_400)
    let time = seconds - days * 86_400
    (year, month, day) = CivilCalendar.date(fromDays: days)
    hour = time / 3600
    minute = time / 60 % 60
    second = time % 60
    offset = 0
  }

  /// ISO 8601 as PostgreSQL and SQLite print it: `2024-03-01`, `2024-03-01 12:34:56+00`,
  /// `2024-03-01T12:34:56.123456Z`, `2024-03-01 12:34:56.5+05:30`; or whole seconds since 1970.
  init?(parsing text: String) {
    let bytes = Array(text.utf8)
    let isSpace = { (byte: UInt8) in byte == 32 || byte == 9 }
    guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
    else { return nil }
    var scanner = Scanner(Array(bytes[first...last]))
    if let seconds = scanner.wholeNumberText() {
      self = TemplateTimestamp(epoch: seconds)
      return
    }
    guard let year = scanner.digits(4...6), scanner.take("-"), let month = scanner.digits(2...2), scanner.take("-"),
      let day = scanner.digits(2...2)
    else { return nil }
    self.year = year
    self.month = month
    self.day = day
    if scanner.take("T") || scanner.take("t") || scanner.take(" ") {
      guard let hour = scanner.digits(2...2), scanner.take(":"), let minute = scanner.digits(2...2) else { return nil }
      self.hour = hour
      self.minute = minute
      if scanner.take(":") {
        guard let second = scanner.digits(2...2) else { return nil }
        self.second = second
        if scanner.take(".") || scanner.take(",") {
          guard let (fraction, count) = scanner.fraction() else { return nil }
          nanosecond = count <= 9 ? fraction * Self.power(10, 9 - count) : fraction
        }
      }
      _ = scanner.take(" ")
      if scanner.take("Z") || scanner.take("z") || scanner.take("UTC") {
        offset = 0
      } else if let sign = scanner.sign() {
        guard let hours = scanner.digits(2...2) else { return nil }
        var seconds = hours * 3600
        let colon = scanner.take(":")
        if let minutes = scanner.digits(2...2) {
          seconds += minutes * 60
          if colon, scanner.take(":") {
            guard let extra = scanner.digits(2...2) else { return nil }
            seconds += extra
          }
        } else if colon {
          return nil
        }
        offset = sign * seconds
      }
    }
    guard scanner.isAtEnd, (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
      hour < 24, minute < 60, second <= 60
    else { return nil }
  }

  // MARK: strftime

  private static let months = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
  ]
  private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
  private static let composites: [UInt8: String] = [
    UInt8(ascii: "F"): "%Y-%m-%d", UInt8(ascii: "T"): "%H:%M:%S", UInt8(ascii: "D"): "%m/%d/%y",
    UInt8(ascii: "R"): "%H:%M", UInt8(ascii: "r"): "%I:%M:%S %p", UInt8(ascii: "c"): "%a %b %e %H:%M:%S %Y",
    UInt8(ascii: "x"): "%m/%d/%y", UInt8(ascii: "X"): "%H:%M:%S",
  ]
  private static let simple = Set("YCymBbhdejHkIlPpMSLNzZAauwsFTDRrcxX%nt".utf8)

  /// The widest a directive may pad (`%64d`); a width is padding, and padding to millions of
  /// characters is a mistake (found by fuzzing, as an overflow).
  static let widthLimit = 64

  /// Throws when `format` has a directive `formatted` does not know, naming it, or a width over
  /// `widthLimit`.
  static func validate(format: String) throws {
    var directives = Directives(format)
    while let piece = directives.next() {
      guard case let .directive(_, width, _, code) = piece else { continue }
      if !simple.contains(code) {
        let shown = String(decoding: [UInt8(ascii: "%"), code], as: UTF8.self)
        throw MappingTemplateError(
          "date format \"\(format)\" has unknown directive \(shown); use strftime directives such as %Y %m %d %H %M %S %z %B %A %j %s")
      }
      if let width, width > widthLimit {
        throw MappingTemplateError("date format \"\(format)\" has a width over \(widthLimit); widths pad a field, as %3N or %02d do")
      }
    }
  }

  /// `format` with strftime directives replaced, with Ruby's flags (`%-d` unpadded, `%_m` space
  /// padded, `%^B` upper case, `%:z` with a colon) and widths (`%3N` milliseconds).
  func formatted(_ format: String) -> String {
    var output = ""
    var directives = Directives(format)
    while let piece = directives.next() {
      switch piece {
      case let .text(text): output += text
      case let .directive(flags, width, colon, code):
        output += field(code, flags: flags, width: width, colon: colon)
      }
    }
    return output
  }

  private func field(_ code: UInt8, flags: Set<UInt8>, width: Int?, colon: Bool) -> String {
    func number(_ value: Int, _ digits: Int, pad: UInt8 = UInt8(ascii: "0")) -> String {
      let text = String(abs(value))
      let size = width ?? digits
      var padding: Character = pad == UInt8(ascii: " ") ? " " : "0"
      if flags.contains(UInt8(ascii: "-")) { return (value < 0 ? "-" : "") + text }
      if flags.contains(UInt8(ascii: "_")) { padding = " " }
      if flags.contains(UInt8(ascii: "0")) { padding = "0" }
      return (value < 0 ? "-" : "") + String(repeating: padding, count: max(0, size - text.count)) + text
    }
    func word(_ text: String) -> String {
      flags.contains(UInt8(ascii: "^")) ? text.uppercased() : text
    }
    let hour12 = hour % 12 == 0 ? 12 : hour % 12
    switch code {
    case UInt8(ascii: "Y"): return number(year, 4)
    case UInt8(ascii: "C"): return number(Self.floorDivide(year, 100), 2)
    case UInt8(ascii: "y"): return number(year % 100, 2)
    case UInt8(ascii: "m"): return number(month, 2)
    case UInt8(ascii: "B"): return word(Self.months[month - 1])
    case UInt8(ascii: "b"), UInt8(ascii: "h"): return word(String(Self.months[month - 1].prefix(3)))
    case UInt8(ascii: "d"): return number(day, 2)
    case UInt8(ascii: "e"): return number(day, 2, pad: UInt8(ascii: " "))
    case UInt8(ascii: "j"): return number(dayOfYear, 3)
    case UInt8(ascii: "H"): return number(hour, 2)
    case UInt8(ascii: "k"): return number(hour, 2, pad: UInt8(ascii: " "))
    case UInt8(ascii: "I"): return number(hour12, 2)
    case UInt8(ascii: "l"): return number(hour12, 2, pad: UInt8(ascii: " "))
    case UInt8(ascii: "P"): return hour < 12 ? "am" : "pm"
    case UInt8(ascii: "p"): return hour < 12 ? "AM" : "PM"
    case UInt8(ascii: "M"): return number(minute, 2)
    case UInt8(ascii: "S"): return number(second, 2)
    case UInt8(ascii: "L"): return String(number(nanosecond, 9).prefix(width ?? 3))
    case UInt8(ascii: "N"): return String(number(nanosecond, 9).prefix(width ?? 9))
    case UInt8(ascii: "z"):
      let seconds = offset ?? 0
      let minutes = abs(seconds) / 60
      let sign = seconds < 0 ? "-" : "+"
      let hours = String(repeating: "0", count: minutes / 60 < 10 ? 1 : 0) + String(minutes / 60)
      let rest = String(repeating: "0", count: minutes % 60 < 10 ? 1 : 0) + String(minutes % 60)
      return sign + hours + (colon ? ":" : "") + rest
    case UInt8(ascii: "Z"): return (offset ?? 0) == 0 ? "UTC" : field(UInt8(ascii: "z"), flags: [], width: nil, colon: true)
    case UInt8(ascii: "A"): return word(Self.weekdays[weekday])
    case UInt8(ascii: "a"): return word(String(Self.weekdays[weekday].prefix(3)))
    case UInt8(ascii: "u"): return String(weekday == 0 ? 7 : weekday)
    case UInt8(ascii: "w"): return String(weekday)
    case UInt8(ascii: "s"): return String(epochSeconds)
    case UInt8(ascii: "%"): return "%"
    case UInt8(ascii: "n"): return "\n"
    case UInt8(ascii: "t"): return "\t"
    default:
      guard let composite = Self.composites[code] else { return "" }
      let text = formatted(composite)
      return flags.contains(UInt8(ascii: "^")) ? text.uppercased() : text
    }
  }

  // MARK: Calendar arithmetic (proleptic Gregorian, Howard Hinnant's algorithms)

  private var daysSinceEpoch: Int {
    let y = month <= 2 ? year - 1 : year
    let era = Self.floorDivide(y, 400)
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  private var epochSeconds: Int {
    daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - (offset ?? 0)
  }

  /// 0 is Sunday.
  private var weekday: Int { (Self.floorDivide(daysSinceEpoch, 7) * -7 + daysSinceEpoch + 4) % 7 }

  private var dayOfYear: Int {
    (1..<month).reduce(day) { $0 + Self.daysIn(month: $1, year: year) }
  }

  private static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  private static func floorDivide(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
  }

  private static func power(_ base: Int, _ exponent: Int) -> Int {
    (0..<exponent).reduce(1) { result, _ in result * base }
  }
}

/// The literal text and `%` directives of a strftime format.
private struct Directives {
  enum Piece {
    case text(String)
    case directive(flags: Set<UInt8>, width: Int?, colon: Bool, code: UInt8)
  }

  private let bytes: [UInt8]
  private var index = 0

  init(_ format: String) {
    bytes = Array(format.utf8)
  }

  mutating func next() -> Piece? {
    guard index < bytes.count else { return nil }
    guard bytes[index] == UInt8(ascii: "%"), index + 1 < bytes.count else {
      let start = index
      index += 1
      while index < bytes.count, bytes[index] != UInt8(ascii: "%") { index += 1 }
      return .text(String(decoding: bytes[start..<index], as: UTF8.self))
    }
    index += 1
    var flags = Set<UInt8>()
    while index < bytes.count, "-_0^#".utf8.contains(bytes[index]) {
      flags.insert(bytes[index])
      index += 1
    }
    var width: Int?
    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
      // Held just past the limit, which validation refuses: a longer run of digits overflowed.
      width = min((width ?? 0) * 10 + Int(bytes[index] - UInt8(ascii: "0")), TemplateTimestamp.widthLimit + 1)
      index += 1
    }
    let colon = index < bytes.count && bytes[index] == UInt8(ascii: ":")
    if colon { index += 1 }
    guard index < bytes.count else { return .directive(flags: flags, width: width, colon: colon, code: UInt8(ascii: "?")) }
    let code = bytes[index]
    index += 1
    return .directive(flags: flags, width: width, colon: colon, code: code)
  }
}

/// Reads the pieces of a timestamp from UTF-8 bytes.
private struct Scanner {
  private let bytes: [UInt8]
  private var index = 0

  init(_ bytes: [UInt8]) {
    self.bytes = bytes
  }

  var isAtEnd: Bool { index == bytes.count }

  mutating func take(_ text: String) -> Bool {
    let expected = Array(text.utf8)
    guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else { return false }
    index += expected.count
    return true
  }

  /// A number of `count` digits, as many as there are within the range.
  mutating func digits(_ count: ClosedRange<Int>) -> Int? {
    var end = index
    while end < bytes.count, end - index < count.upperBound, isDigit(bytes[end]) { end += 1 }
    guard count.contains(end - index) else { return nil }
    let value = bytes[index..<end].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    index = end
    return value
  }

  /// Fractional digits: their value (at most 9 digits kept) and how many were kept.
  mutating func fraction() -> (Int, Int)? {
    var value = 0
    var count = 0
    let start = index
    while index < bytes.count, isDigit(bytes[index]) {
      if count < 9 {
        value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
        count += 1
      }
      index += 1
    }
    return index > start ? (value, count) : nil
  }

  mutating func sign() -> Int? {
    if take("+") { return 1 }
    if take("-") { return -1 }
    return nil
  }

  /// The whole text as an integer (seconds since 1970), if it is one.
  mutating func wholeNumberText() -> Int? {
    guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
    let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
    guard !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
    index = bytes.count
    return Int(String(decoding: bytes, as: UTF8.self))
  }

  private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
