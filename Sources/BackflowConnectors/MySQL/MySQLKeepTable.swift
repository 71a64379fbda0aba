import BackflowConfig
import BackflowDestinations
import BackflowMySQL

/// Match values that belong in a table, in a temporary table of the session's own: mirror's
/// sweep deletes the table's other records, drift counts them.
struct MySQLKeepTable {
  let session: MySQLDestinationSession
  let table: MySQLDestinationTable
  let matchField: String
  /// Drift reads back on a session of its own, so the sweep's name serves both.
  private let name = "backflow_keep"

  private var match: String { MySQLConnection.quoteIdentifier(matchField) }

  /// Creates the temporary table, the match column typed as the table's so values compare alike.
  func create() throws {
    try session.connection.execute("DROP TEMPORARY TABLE IF EXISTS \(name)")
    try session.connection.execute("CREATE TEMPORARY TABLE \(name) AS SELECT \(match) FROM \(table.name) WHERE FALSE")
    try session.connection.execute("ALTER TABLE \(name) ADD INDEX (\(match))")
  }

  /// Adds match values, in statements of at most 1000 values.
  func keep(_ keys: [JSONValue]) throws {
    let literals = try keys.filter { $0 != .null }.map(session.literal)
    for start in stride(from: 0, to: literals.count, by: 1000) {
      let chunk = literals[start..<min(start + 1000, literals.count)]
      try session.connection.execute(
        "INSERT INTO \(name) (\(match)) VALUES " + chunk.map { "(\($0))" }.joined(separator: ", "))
    }
  }

  /// The join that finds the table's records whose match value was not kept (NULL ones stay).
  var absent: String {
    "\(table.name) AS t LEFT JOIN \(name) AS k ON k.\(match) = t.\(match) WHERE t.\(match) IS NOT NULL AND k.\(match) IS NULL"
  }

  func drop() throws {
    try session.connection.execute("DROP TEMPORARY TABLE IF EXISTS \(name)")
  }
}
