import CADBC

/// One field of an Arrow schema: its name, type, children and, for a dictionary-encoded column,
/// the field of its dictionary's values. Read once per stream; values are read through it.
public final class ArrowField: Sendable {
  public let name: String
  /// The Arrow format string, as messages name an unreadable type.
  public let format: String
  let type: ArrowType
  let children: [ArrowField]
  /// The values' field when the column is dictionary-encoded (`type` is then the index type).
  let dictionary: ArrowField?
  /// `ARROW:extension:name` (`arrow.json`, `arrow.opaque`) and its metadata.
  let extensionName: String?
  let extensionMetadata: String?

  /// Reads `schema`; throws for a type Backflow does not read, naming the column.
  init(_ schema: UnsafePointer<ArrowSchema>, path: String? = nil) throws {
    let schema = schema.pointee
    let name = schema.name.map { String(cString: $0) } ?? ""
    let format = schema.format.map { String(cString: $0) } ?? ""
    self.name = name
    self.format = format
    let shown = path.map { "\($0).\(name)" } ?? name
    guard let type = ArrowType(format: format) else {
      throw ADBCError("column \(shown) has the Arrow type \"\(format)\", which Backflow does not read")
    }
    self.type = type
    var children: [ArrowField] = []
    for index in 0..<Int(schema.n_children) {
      guard let child = schema.children[index] else { continue }
      children.append(try ArrowField(child, path: shown))
    }
    self.children = children
    dictionary = try schema.dictionary.map { try ArrowField($0, path: shown) }
    let metadata = Self.metadata(schema.metadata)
    extensionName = metadata["ARROW:extension:name"]
    extensionMetadata = metadata["ARROW:extension:metadata"]
  }

  /// Schema metadata: an int32 count, then each key and value as an int32 length and its bytes
  /// (native byte order, as the C data interface specifies).
  static func metadata(_ pointer: UnsafePointer<CChar>?) -> [String: String] {
    guard let pointer else { return [:] }
    let raw = UnsafeRawPointer(pointer)
    var offset = 0
    func int32() -> Int {
      defer { offset += 4 }
      return Int(raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
    func text() -> String {
      let length = int32()
      defer { offset += length }
      return String(decoding: UnsafeRawBufferPointer(start: raw + offset, count: length), as: UTF8.self)
    }
    var entries: [String: String] = [:]
    for _ in 0..<int32() {
      let key = text()
      entries[key] = text()
    }
    return entries
  }
}
