import CMariaDB

/// The type of a result column on the wire (`enum_field_types`), for example `.longLong` for
/// BIGINT; several SQL types share one (TEXT and BLOB are both `.blob`, told apart by the
/// column's character set).
public struct MySQLColumnType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
  public let rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  private init(_ type: enum_field_types) {
    self.init(rawValue: type.rawValue)
  }

  public static let decimal = Self(MYSQL_TYPE_DECIMAL)
  public static let tiny = Self(MYSQL_TYPE_TINY)
  public static let short = Self(MYSQL_TYPE_SHORT)
  public static let long = Self(MYSQL_TYPE_LONG)
  public static let float = Self(MYSQL_TYPE_FLOAT)
  public static let double = Self(MYSQL_TYPE_DOUBLE)
  public static let null = Self(MYSQL_TYPE_NULL)
  public static let timestamp = Self(MYSQL_TYPE_TIMESTAMP)
  public static let longLong = Self(MYSQL_TYPE_LONGLONG)
  public static let int24 = Self(MYSQL_TYPE_INT24)
  public static let date = Self(MYSQL_TYPE_DATE)
  public static let time = Self(MYSQL_TYPE_TIME)
  public static let datetime = Self(MYSQL_TYPE_DATETIME)
  public static let year = Self(MYSQL_TYPE_YEAR)
  public static let newDate = Self(MYSQL_TYPE_NEWDATE)
  public static let varchar = Self(MYSQL_TYPE_VARCHAR)
  public static let bit = Self(MYSQL_TYPE_BIT)
  public static let json = Self(MYSQL_TYPE_JSON)
  public static let newDecimal = Self(MYSQL_TYPE_NEWDECIMAL)
  public static let `enum` = Self(MYSQL_TYPE_ENUM)
  public static let set = Self(MYSQL_TYPE_SET)
  public static let tinyBlob = Self(MYSQL_TYPE_TINY_BLOB)
  public static let mediumBlob = Self(MYSQL_TYPE_MEDIUM_BLOB)
  public static let longBlob = Self(MYSQL_TYPE_LONG_BLOB)
  public static let blob = Self(MYSQL_TYPE_BLOB)
  public static let varString = Self(MYSQL_TYPE_VAR_STRING)
  public static let string = Self(MYSQL_TYPE_STRING)
  public static let geometry = Self(MYSQL_TYPE_GEOMETRY)

  /// The name in Connector/C's `MYSQL_TYPE_…` without its prefix, or the number when unknown.
  public var description: String {
    Self.names[self] ?? "type \(rawValue)"
  }

  private static let names: [MySQLColumnType: String] = [
    .decimal: "DECIMAL", .tiny: "TINY", .short: "SHORT", .long: "LONG", .float: "FLOAT",
    .double: "DOUBLE", .null: "NULL", .timestamp: "TIMESTAMP", .longLong: "LONGLONG",
    .int24: "INT24", .date: "DATE", .time: "TIME", .datetime: "DATETIME", .year: "YEAR",
    .newDate: "NEWDATE", .varchar: "VARCHAR", .bit: "BIT", .json: "JSON",
    .newDecimal: "NEWDECIMAL", .enum: "ENUM", .set: "SET", .tinyBlob: "TINY_BLOB",
    .mediumBlob: "MEDIUM_BLOB", .longBlob: "LONG_BLOB", .blob: "BLOB", .varString: "VAR_STRING",
    .string: "STRING", .geometry: "GEOMETRY",
  ]

  /// Whether the type's values are bytes when the column's character set is `binary`: strings,
  /// BLOBs, BIT and GEOMETRY, but not numbers, dates or JSON, which the server also marks binary.
  var holdsBytes: Bool {
    [.varchar, .varString, .string, .tinyBlob, .mediumBlob, .longBlob, .blob, .bit, .geometry]
      .contains(self)
  }
}
