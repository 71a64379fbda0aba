import BackflowConfig

/// Reads a table destination (PostgreSQL, SQLite, MySQL) back for `backflow drift`, on a session
/// of its own: each record looked up by its match value with the database comparing the fields
/// (`TableSession.readBack`), and mirror's check noting the match values to keep in a temporary
/// table of the session, as mirror's sweep does, then counting the others.
public final class TableDestinationReader<Session: TableSession>: DestinationReader {
  private let session: Session
  private let table: Session.Table
  private var keeping = false

  /// Checks the table as apply's `prepare` does.
  public init(session: Session, target: DestinationTarget) throws {
    self.session = session
    table = try session.resolve(target)
  }

  public func compare(_ records: [DestinationRecord]) throws -> [RecordDrift] {
    let matchField = try self.matchField(for: "reading records back")
    let fields = table.columns.settable
    return try session.readBack(records, from: table, matchField: matchField).map { stored in
      guard let stored else { return .missing }
      let differences = fields.indices.filter { !stored.same[$0] }.map { index in
        FieldDrift(
          field: fields[index], destination: DestinationReaders.truncated(stored.stored[index]),
          written: DestinationReaders.truncated(stored.written[index]))
      }
      return differences.isEmpty ? .same : .differs(differences)
    }
  }

  public func expect(_ keys: [JSONValue]) throws {
    let matchField = try startKeeping()
    try session.keep(keys, table: table, matchField: matchField)
  }

  public func unexpected(sample: Int) throws -> (count: Int, sample: [String]) {
    let matchField = try startKeeping()
    let (count, values) = try session.unkept(table, matchField: matchField, sample: max(sample, 0))
    return (count, values.compactMap(DestinationReaders.truncated))
  }

  /// Creates the table of match values to keep on first use; returns the match field.
  private func startKeeping() throws -> String {
    let matchField = try self.matchField(for: "finding records that should not be there")
    if !keeping {
      try session.startSweep(table, matchField: matchField)
      keeping = true
    }
    return matchField
  }

  private func matchField(for purpose: String) throws -> String {
    guard let matchField = table.columns.matchField else {
      throw DestinationError("\(purpose) needs a match field (match:)")
    }
    return matchField
  }
}
