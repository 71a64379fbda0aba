/// A column a query would return: its name and the OID of its type (23 int4, 25 text, …).
public struct PostgresColumn: Sendable, Equatable {
  /// The column's name as the server reports it, after aliases.
  public let name: String
  /// The type's OID in `pg_type`, for example 23 (int4), 25 (text) or 1184 (timestamptz).
  public let typeOID: UInt32

  /// Makes a column from its name and type OID.
  public init(name: String, typeOID: UInt32) {
    self.name = name
    self.typeOID = typeOID
  }
}
