import BackflowConfig
import BackflowDestinations

extension Sync {
  /// What a planned row becomes at this sync's destination, by type, mode and `on_delete`:
  /// the operation sent, or `nil` when nothing is sent (a change in insert mode, a removal with
  /// `on_delete: nothing`) and the snapshot advances as if it had been.
  func destinationOperation(for operation: SyncRun.PlannedOperation) -> DestinationOperation? {
    let mode = mode.value
    switch (type.value, operation) {
    case (.list, .remove): return .remove
    case (.list, _): return .add
    case (.event, .add): return .track
    case (.event, _): return nil
    case (.object, .remove):
      if mode == .mirror { return .delete }
      if mode == .insert { return nil }
      switch onDelete.value {
      case .nothing: return nil
      case .clear: return .clearFields
      case .delete: return .delete
      }
    case (.object, .add):
      return mode == .update ? .update : mode == .insert ? .insert : .upsert
    case (.object, .change):
      return mode == .insert ? nil : mode == .update ? .update : .upsert
    }
  }

  /// Why `destinationOperation(for:)` sends nothing for `operation`, in words for the user.
  func unsentReason(for operation: SyncRun.PlannedOperation) -> String? {
    guard destinationOperation(for: operation) == nil else { return nil }
    let row = operation == .change ? "a changed row" : operation == .remove ? "a removed row" : "an added row"
    if type.value == .event { return "event syncs only insert one event per added row: \(row) sends nothing" }
    if mode.value == .insert {
      return "insert mode only creates records: \(row) sends nothing"
    }
    return "on_delete is nothing: \(row) leaves its destination record as it is, and nothing is sent"
  }
}
