import BackflowConfig
import BackflowSources
import CADBC
import Foundation

extension ArrowField {
  /// The value at `row` of `array`, an array of this field's type.
  func value(_ array: ArrowArray, _ row: Int) -> FieldValue {
    let index = Int(array.offset) + row
    if case .null = type { return .null }
    if isNull(array, index) { return .null }
    if let dictionary, let values = array.dictionary {
      return dictionary.value(values.pointee, Int(integer(array, index)))
    }
    switch type {
    case .null: return .null
    case .bool: return .bool(Self.bit(array.buffers[1], index))
    case .signed: return .integer(integer(array, index))
    case let .unsigned(bytes):
      let number = Self.unsigned(array.buffers[1], index, bytes)
      return number <= UInt64(Int64.max) ? .integer(Int64(number)) : .number(String(number))
    case .float16, .float32, .float64: return Self.float(floating(array, index))
    case let .decimal(scale, bytes):
      let start = UnsafeRawPointer(array.buffers[1]!) + index * bytes
      return .number(ArrowDecimal.text(UnsafeRawBufferPointer(start: start, count: bytes), scale: scale))
    case .utf8, .utf8View: return text(String(decoding: bytes(array, index), as: UTF8.self))
    case .binary, .binaryView, .fixedBinary: return .string(Data(bytes(array, index)).base64EncodedString())
    case .date32: return .string(ArrowTime.date(days: integer(array, index)))
    case .date64: return .string(ArrowTime.date(days: ArrowTime.floorDivide(integer(array, index), 86_400_000)))
    case let .time(unit, _): return .string(ArrowTime.time(integer(array, index), unit))
    case let .timestamp(unit, zone): return .string(ArrowTime.timestamp(integer(array, index), unit, zone: zone))
    case let .duration(unit): return .string(ArrowTime.duration(integer(array, index), unit))
    case .list, .fixedList, .structure, .map:
      return .json(json(array, row).rendered(compact: true))
    }
  }

  /// The value at `row` as JSON, for the inside of lists, structs and maps.
  private func json(_ array: ArrowArray, _ row: Int) -> JSONValue {
    let index = Int(array.offset) + row
    switch type {
    case .list, .fixedList, .map:
      if isNull(array, index) { return .null }
      guard let element = children.first, let items = array.children[0] else { return .array([]) }
      let range: Range<Int>
      switch type {
      case let .fixedList(size): range = (index * size)..<((index + 1) * size)
      case let .list(offsetBytes) where offsetBytes == 8:
        range = Int(Self.signed(array.buffers[1], index, 8))..<Int(Self.signed(array.buffers[1], index + 1, 8))
      default:
        range = Int(Self.signed(array.buffers[1], index, 4))..<Int(Self.signed(array.buffers[1], index + 1, 4))
      }
      let values = range.map { element.json(items.pointee, $0) }
      guard case .map = type else { return .array(values) }
      // A map's entries are structs of key and value: an object keyed by the key's text.
      return .object(
        values.map { entry in
          guard case let .object(members) = entry, members.count == 2 else { return ("", entry) }
          let key: String
          if case let .string(text) = members[0].1 { key = text } else { key = members[0].1.rendered(compact: true) }
          return (key, members[1].1)
        })
    case .structure:
      if isNull(array, index) { return .null }
      return .object(
        children.enumerated().map { position, child in
          guard let values = array.children[position] else { return (child.name, .null) }
          return (child.name, child.json(values.pointee, index))
        })
    default:
      switch value(array, row) {
      case .null: return .null
      case let .bool(flag): return .bool(flag)
      case let .integer(number): return .int(Int(number))
      case let .number(text): return .number(text)
      case let .string(text): return .string(text)
      case let .json(text): return (try? JSONValue.parse(text)) ?? .string(text)
      }
    }
  }

  /// A string column's text: JSON for `arrow.json`, a number for an `arrow.opaque` numeric
  /// type (PostgreSQL's `numeric` keeps every digit that way).
  private func text(_ text: String) -> FieldValue {
    switch extensionName {
    case "arrow.json": return .json(text)
    case "arrow.opaque" where Self.isNumericOpaque(extensionMetadata):
      return Double(text)?.isFinite == true ? .number(text) : .string(text)
    default: return .string(text)
    }
  }

  private static func isNumericOpaque(_ metadata: String?) -> Bool {
    guard let metadata, case let .object(members)? = try? JSONValue.parse(metadata),
      case let .string(name)? = members.first(where: { $0.0 == "type_name" })?.1
    else { return false }
    return ["numeric", "decimal", "number", "bignumeric"].contains(name.lowercased())
  }

  /// NaN and the infinities are not JSON numbers, so they stay text, spelled as PostgreSQL does.
  private static func float(_ number: Double) -> FieldValue {
    if number.isFinite { return .number(number.description) }
    return .string(number.isNaN ? "NaN" : number < 0 ? "-Infinity" : "Infinity")
  }

  private func floating(_ array: ArrowArray, _ index: Int) -> Double {
    let buffer = UnsafeRawPointer(array.buffers[1]!)
    switch type {
    case .float16: return Double(buffer.loadUnaligned(fromByteOffset: index * 2, as: Float16.self))
    // Float's own shortest text, so 0.1 as float32 stays 0.1.
    case .float32: return Double(buffer.loadUnaligned(fromByteOffset: index * 4, as: Float.self).description) ?? .nan
    default: return buffer.loadUnaligned(fromByteOffset: index * 8, as: Double.self)
    }
  }

  private func isNull(_ array: ArrowArray, _ index: Int) -> Bool {
    guard array.null_count != 0, array.n_buffers > 0, let validity = array.buffers[0] else { return false }
    return !Self.bit(validity, index)
  }

  /// A signed integer, date, time, timestamp or duration; a dictionary's index.
  private func integer(_ array: ArrowArray, _ index: Int) -> Int64 {
    switch type {
    case let .signed(bytes): Self.signed(array.buffers[1], index, bytes)
    case let .unsigned(bytes): Int64(truncatingIfNeeded: Self.unsigned(array.buffers[1], index, bytes))
    case .date32, .time(_, 4): Self.signed(array.buffers[1], index, 4)
    default: Self.signed(array.buffers[1], index, 8)
    }
  }

  /// The bytes of a string or binary value.
  private func bytes(_ array: ArrowArray, _ index: Int) -> UnsafeRawBufferPointer {
    switch type {
    case let .fixedBinary(width):
      return UnsafeRawBufferPointer(start: UnsafeRawPointer(array.buffers[1]!) + index * width, count: width)
    case .utf8View, .binaryView:
      // A 16-byte view: its length, then up to 12 bytes inline, or a prefix, a buffer and an offset.
      let view = UnsafeRawPointer(array.buffers[1]!) + index * 16
      let length = Int(view.loadUnaligned(as: Int32.self))
      if length <= 12 { return UnsafeRawBufferPointer(start: view + 4, count: length) }
      let buffer = Int(view.loadUnaligned(fromByteOffset: 8, as: Int32.self))
      let offset = Int(view.loadUnaligned(fromByteOffset: 12, as: Int32.self))
      return UnsafeRawBufferPointer(start: UnsafeRawPointer(array.buffers[2 + buffer]!) + offset, count: length)
    case let .utf8(offsetBytes), let .binary(offsetBytes):
      let start = Int(Self.signed(array.buffers[1], index, offsetBytes))
      let end = Int(Self.signed(array.buffers[1], index + 1, offsetBytes))
      guard end > start, let data = array.buffers[2] else { return UnsafeRawBufferPointer(start: nil, count: 0) }
      return UnsafeRawBufferPointer(start: UnsafeRawPointer(data) + start, count: end - start)
    default:
      return UnsafeRawBufferPointer(start: nil, count: 0)
    }
  }

  private static func bit(_ buffer: UnsafeRawPointer?, _ index: Int) -> Bool {
    guard let buffer else { return false }
    return buffer.load(fromByteOffset: index >> 3, as: UInt8.self) & (1 << UInt8(index & 7)) != 0
  }

  private static func signed(_ buffer: UnsafeRawPointer?, _ index: Int, _ bytes: Int) -> Int64 {
    guard let buffer else { return 0 }
    switch bytes {
    case 1: return Int64(buffer.loadUnaligned(fromByteOffset: index, as: Int8.self))
    case 2: return Int64(buffer.loadUnaligned(fromByteOffset: index * 2, as: Int16.self))
    case 4: return Int64(buffer.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
    default: return buffer.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)
    }
  }

  private static func unsigned(_ buffer: UnsafeRawPointer?, _ index: Int, _ bytes: Int) -> UInt64 {
    guard let buffer else { return 0 }
    switch bytes {
    case 1: return UInt64(buffer.loadUnaligned(fromByteOffset: index, as: UInt8.self))
    case 2: return UInt64(buffer.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
    case 4: return UInt64(buffer.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
    default: return buffer.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
    }
  }
}
