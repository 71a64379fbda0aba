import BackflowSources
import CADBC

/// A query's result as an Arrow C stream, read a row at a time: one record batch is held while
/// its rows are read, then released, so memory stays flat however many rows there are.
public final class ArrowStream {
  /// The result's columns.
  public let fields: [ArrowField]
  private let stream: UnsafeMutablePointer<ArrowArrayStream>
  /// The statement the stream belongs to, released after it.
  private let statement: ADBCStatement
  private let redact: @Sendable (String) -> String
  private var batch = ArrowArray()
  private var row = 0

  init(_ stream: UnsafeMutablePointer<ArrowArrayStream>, statement: ADBCStatement, redact: @escaping @Sendable (String) -> String)
    throws
  {
    self.stream = stream
    self.statement = statement
    self.redact = redact
    var schema = ArrowSchema()
    let status = try statement.checked { stream.pointee.get_schema?(stream, &schema) ?? -1 }
    defer { schema.release?(&schema) }
    guard status == 0 else {
      fields = []
      throw ADBCError(redact("could not read the result's schema: \(Self.lastError(stream) ?? "error \(status)")"))
    }
    fields = try (0..<Int(schema.n_children)).compactMap { index in
      try schema.children[index].map { try ArrowField($0) }
    }
  }

  deinit {
    batch.release?(&batch)
    stream.pointee.release?(stream)
    stream.deallocate()
  }

  /// The next row's values, one for each of `fields`; `nil` after the last.
  public func next() throws -> [FieldValue]? {
    while row >= Int(batch.length) || batch.release == nil {
      batch.release?(&batch)
      batch = ArrowArray()
      row = 0
      let status = try statement.checked { stream.pointee.get_next?(stream, &batch) ?? -1 }
      guard status == 0 else {
        throw ADBCError(redact("could not read the next rows: \(Self.lastError(stream) ?? "error \(status)")"))
      }
      // A released array marks the end of the stream.
      if batch.release == nil { return nil }
    }
    // The batch is a struct array: its offset applies to every column.
    let index = Int(batch.offset) + row
    row += 1
    var values: [FieldValue] = []
    values.reserveCapacity(fields.count)
    for (position, field) in fields.enumerated() {
      values.append(batch.children[position].map { field.value($0.pointee, index) } ?? .null)
    }
    return values
  }

  private static func lastError(_ stream: UnsafeMutablePointer<ArrowArrayStream>) -> String? {
    stream.pointee.get_last_error?(stream).map { String(cString: $0) }
  }
}
