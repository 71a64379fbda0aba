import BackflowConfig
import BackflowPostgres

extension PostgresDestinationTable {
  /// For a trace: counts the target's records that the copied batch's match values find, before
  /// the merge runs, so the trace can say what it changed. `nil` for operations that find
  /// nothing (insert, track) or whose merge returns what it found (update).
  func existingCountSQL(_ operation: DestinationOperation) -> String? {
    guard let matchField else { return nil }
    switch operation {
    case .upsert, .add, .delete, .remove, .clearFields:
      let match = PostgresConnection.quoteIdentifier(matchField)
      return "SELECT count(*) FROM \(name) AS t JOIN \(Self.batchTable) AS b ON t.\(match) = b.\(match)"
    case .update, .insert, .track, .clear:
      return nil
    }
  }

  /// The merge's result in words: rows inserted, updated or deleted.
  func describeMerge(_ operation: DestinationOperation, copied: Int, existing: Int?, returned: Int) -> String {
    switch operation {
    case .upsert, .add:
      guard let existing else { return "\(plural(copied, "row")) inserted or updated" }
      let updated =
        columns.settable.isEmpty ? "already there, left as \(existing == 1 ? "it is" : "they are")" : "updated"
      return [
        copied - existing > 0 ? "\(plural(copied - existing, "row")) inserted" : nil,
        existing > 0 ? "\(plural(existing, "row")) \(updated)" : nil,
      ].compactMap { $0 }.joined(separator: ", ")
    case .update:
      return columns.settable.isEmpty ? "\(plural(returned, "record")) found" : "\(plural(returned, "row")) updated"
    case .insert, .track:
      return "\(plural(copied, "row")) inserted"
    case .delete, .remove:
      return "\(plural(existing ?? 0, "row")) deleted"
    case .clearFields:
      return "\(plural(existing ?? 0, "row")) updated"
    case .clear:
      return "the table was emptied"
    }
  }
}
