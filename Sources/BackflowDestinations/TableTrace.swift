import BackflowConfig
import BackflowSQLite
import Foundation

/// What the table destinations report to a trace alike.
extension DestinationTrace {
  /// Reports the records a batch's screening refused before any SQL (`TableColumns.screen`).
  public func refusals(_ outcomes: [RecordOutcome?]) {
    for (index, outcome) in outcomes.enumerated() {
      if case let .failed(reason)? = outcome { self(.result("record \(index + 1) not sent: \(reason)")) }
    }
  }

  /// Reports why a batch whose records all passed screening sends no SQL at all.
  public func nothingToSend(_ operation: DestinationOperation, pending: [Int]) {
    guard !pending.isEmpty else { return }
    self(
      .result(
        operation == .clearFields
          ? "no statement: the sync maps no field but the match field, so there is nothing to clear"
          : "no statement: nothing to send"))
  }

  /// Reports the result of a step that was not run because this is a dry run.
  public func notRun() {
    self(.result("not run (dry run)"))
  }
}

extension SQLiteValue {
  /// The value as a SQL literal, for traces.
  var traceLiteral: String {
    switch self {
    case .null: "NULL"
    case let .integer(number): String(number)
    case let .real(number): String(number)
    case let .text(text): TraceLiteral.text(text)
    case let .blob(bytes): "X'" + bytes.map { String(format: "%02X", $0) }.joined() + "'"
    }
  }
}
