/// An Arrow data type, parsed from a C data interface format string.
indirect enum ArrowType: Sendable {
  case null
  case bool
  case signed(bytes: Int)
  case unsigned(bytes: Int)
  case float16
  case float32
  case float64
  case decimal(scale: Int, bytes: Int)
  /// utf8 and binary, with 32- or 64-bit offsets.
  case utf8(offsetBytes: Int)
  case binary(offsetBytes: Int)
  case utf8View
  case binaryView
  case fixedBinary(width: Int)
  case date32
  case date64
  case time(TimeUnit, bytes: Int)
  case timestamp(TimeUnit, zone: String?)
  case duration(TimeUnit)
  case list(offsetBytes: Int)
  case fixedList(size: Int)
  case structure
  case map

  enum TimeUnit: Sendable {
    case seconds, milliseconds, microseconds, nanoseconds

    init?(_ letter: Character) {
      switch letter {
      case "s": self = .seconds
      case "m": self = .milliseconds
      case "u": self = .microseconds
      case "n": self = .nanoseconds
      default: return nil
      }
    }

    /// Units in one second.
    var perSecond: Int64 {
      switch self {
      case .seconds: 1
      case .milliseconds: 1000
      case .microseconds: 1_000_000
      case .nanoseconds: 1_000_000_000
      }
    }

    /// Digits after the seconds' point: the unit is kept in the text.
    var fractionDigits: Int {
      switch self {
      case .seconds: 0
      case .milliseconds: 3
      case .microseconds: 6
      case .nanoseconds: 9
      }
    }
  }

  /// The type a format string names, or `nil` for one Backflow does not read (intervals,
  /// unions, run-end encoded and list-view arrays).
  init?(format: String) {
    let simple: [String: ArrowType] = [
      "n": .null, "b": .bool, "c": .signed(bytes: 1), "s": .signed(bytes: 2), "i": .signed(bytes: 4),
      "l": .signed(bytes: 8), "C": .unsigned(bytes: 1), "S": .unsigned(bytes: 2), "I": .unsigned(bytes: 4),
      "L": .unsigned(bytes: 8), "e": .float16, "f": .float32, "g": .float64, "u": .utf8(offsetBytes: 4),
      "U": .utf8(offsetBytes: 8), "z": .binary(offsetBytes: 4), "Z": .binary(offsetBytes: 8), "vu": .utf8View,
      "vz": .binaryView, "tdD": .date32, "tdm": .date64, "+l": .list(offsetBytes: 4), "+L": .list(offsetBytes: 8),
      "+s": .structure, "+m": .map,
    ]
    if let type = simple[format] {
      self = type
      return
    }
    let parts = format.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    let head = parts[0]
    let tail = parts.count > 1 ? String(parts[1]) : nil
    switch head {
    case "d":
      let numbers = (tail ?? "").split(separator: ",").compactMap { Int($0) }
      guard numbers.count >= 2 else { return nil }
      let bits = numbers.count > 2 ? numbers[2] : 128
      guard [32, 64, 128, 256].contains(bits) else { return nil }
      self = .decimal(scale: numbers[1], bytes: bits / 8)
    case "w":
      guard let width = tail.flatMap({ Int($0) }), width >= 0 else { return nil }
      self = .fixedBinary(width: width)
    case "+w":
      guard let size = tail.flatMap({ Int($0) }), size >= 0 else { return nil }
      self = .fixedList(size: size)
    case _ where head.count == 3 && head.hasPrefix("tt"):
      guard let unit = TimeUnit(head.last ?? " ") else { return nil }
      self = .time(unit, bytes: unit == .seconds || unit == .milliseconds ? 4 : 8)
    case _ where head.count == 3 && head.hasPrefix("ts"):
      guard let unit = TimeUnit(head.last ?? " ") else { return nil }
      self = .timestamp(unit, zone: tail.flatMap { $0.isEmpty ? nil : $0 })
    case _ where head.count == 3 && head.hasPrefix("tD"):
      guard let unit = TimeUnit(head.last ?? " ") else { return nil }
      self = .duration(unit)
    default:
      return nil
    }
  }
}
