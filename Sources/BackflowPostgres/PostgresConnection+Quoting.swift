extension PostgresConnection {
  /// `name` as a PostgreSQL identifier: in double quotes, a double quote inside doubled, so any
  /// name from config reaches SQL as a name and never as SQL.
  public static func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacing("\"", with: "\"\"") + "\""
  }
}
