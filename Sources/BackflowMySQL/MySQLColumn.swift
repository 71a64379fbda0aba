import CMariaDB

/// A column of a result: its name, type and the flags the server sent with it.
public struct MySQLColumn: Sendable, Equatable {
  /// The column's name as the server reports it, after aliases.
  public let name: String
  /// The table it comes from, after aliases; empty for an expression.
  public let table: String
  /// The type on the wire, for example `.longLong` for BIGINT or `.newDecimal` for DECIMAL.
  public let type: MySQLColumnType
  /// NOT NULL, UNSIGNED, BINARY, part of a key, …
  public let flags: MySQLColumnFlags
  /// Digits after the decimal point (DECIMAL's scale, DATETIME's fractional seconds); 31 or 39
  /// for a FLOAT or DOUBLE without a declared scale.
  public let decimals: Int
  /// The display width in bytes (a VARCHAR(10) in utf8mb4 is 40).
  public let length: Int
  /// The collation number; 63 is `binary`, the one that marks raw bytes.
  public let characterSet: Int

  /// Makes a column from what the server reports.
  public init(
    name: String, table: String = "", type: MySQLColumnType, flags: MySQLColumnFlags = [],
    decimals: Int = 0, length: Int = 0, characterSet: Int = 0
  ) {
    self.name = name
    self.table = table
    self.type = type
    self.flags = flags
    self.decimals = decimals
    self.length = length
    self.characterSet = characterSet
  }

  /// The collation number of `binary`.
  public static let binaryCharacterSet = 63

  /// Whether the column is numeric and UNSIGNED (a BIGINT UNSIGNED reaches 18446744073709551615).
  public var isUnsigned: Bool { flags.contains(.unsigned) }

  /// Whether values are raw bytes rather than text: BINARY, VARBINARY, the BLOBs, BIT and
  /// GEOMETRY. Rows hold them as `\x` followed by lowercase hex, as PostgreSQL prints bytea.
  ///
  /// The `.binary` flag alone does not say so: the server also sets it on numbers, dates and
  /// text in a `_bin` collation.
  public var isBinaryString: Bool {
    characterSet == Self.binaryCharacterSet && type.holdsBytes
  }

  /// Whether the column may hold NULL.
  public var isNullable: Bool { !flags.contains(.notNull) }
}

extension MySQLColumn {
  /// The column `field` describes.
  init(field: MYSQL_FIELD) {
    self.init(
      name: field.name.map { String(cString: $0) } ?? "",
      table: field.table.map { String(cString: $0) } ?? "",
      type: MySQLColumnType(rawValue: field.type.rawValue),
      flags: MySQLColumnFlags(rawValue: field.flags),
      decimals: Int(field.decimals),
      length: Int(field.length),
      characterSet: Int(field.charsetnr))
  }
}

/// The flags of a result column (`NOT_NULL_FLAG`, `UNSIGNED_FLAG`, …).
public struct MySQLColumnFlags: OptionSet, Sendable, Hashable {
  public let rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  public static let notNull = Self(rawValue: UInt32(NOT_NULL_FLAG))
  public static let primaryKey = Self(rawValue: UInt32(PRI_KEY_FLAG))
  public static let uniqueKey = Self(rawValue: UInt32(UNIQUE_KEY_FLAG))
  public static let multipleKey = Self(rawValue: UInt32(MULTIPLE_KEY_FLAG))
  public static let blob = Self(rawValue: UInt32(BLOB_FLAG))
  public static let unsigned = Self(rawValue: UInt32(UNSIGNED_FLAG))
  public static let zeroFill = Self(rawValue: UInt32(ZEROFILL_FLAG))
  public static let binary = Self(rawValue: UInt32(BINARY_FLAG))
  public static let `enum` = Self(rawValue: UInt32(ENUM_FLAG))
  public static let autoIncrement = Self(rawValue: UInt32(AUTO_INCREMENT_FLAG))
  public static let timestamp = Self(rawValue: UInt32(TIMESTAMP_FLAG))
  public static let set = Self(rawValue: UInt32(SET_FLAG))
  public static let noDefaultValue = Self(rawValue: UInt32(NO_DEFAULT_VALUE_FLAG))
  public static let onUpdateNow = Self(rawValue: UInt32(ON_UPDATE_NOW_FLAG))
  public static let numeric = Self(rawValue: UInt32(NUM_FLAG))
}
