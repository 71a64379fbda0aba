extension MySQLConnection {
  /// Starts a transaction; a read-only one (`START TRANSACTION READ ONLY`) refuses every write to
  /// a table with error 1792, which is how model queries run.
  public func begin(readOnly: Bool = false) throws {
    try execute(readOnly ? "START TRANSACTION READ ONLY" : "START TRANSACTION")
  }

  /// Commits the open transaction.
  public func commit() throws {
    try execute("COMMIT")
  }

  /// Rolls the open transaction back.
  public func rollback() throws {
    try execute("ROLLBACK")
  }

  /// Runs `body` in a transaction, which commits when it returns and rolls back when it throws
  /// (the rollback's own failure, on a lost connection say, gives way to `body`'s error).
  public func transaction<Result>(
    readOnly: Bool = false, _ body: () throws -> Result
  ) throws -> Result {
    try begin(readOnly: readOnly)
    let result: Result
    do {
      result = try body()
    } catch {
      try? rollback()
      throw error
    }
    try commit()
    return result
  }
}
