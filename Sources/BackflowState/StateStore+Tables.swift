extension StateStore {
  /// Whether the state table `name` exists: tables added after version 1 (locks, alerts) may be
  /// missing from an older store, which then reads as holding none of their rows.
  func tableExists(_ name: String) throws -> Bool {
    let database = try connection
    switch database.dialect {
    case .sqlite:
      return try !database.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", [name]).isEmpty
    case .postgres:
      return try database.query("SELECT to_regclass($1) IS NOT NULL", ["backflow_state.\(name)"]).first?.first == "t"
    }
  }
}
