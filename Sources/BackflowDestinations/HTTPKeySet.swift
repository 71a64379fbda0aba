import BackflowConfig
import BackflowSQLite
import Foundation

/// A set of record keys too large, perhaps, to hold in memory: the match values a model names,
/// which mirror's sweep and drift check the server's listing against. It lives in SQLite's private
/// temporary database (an empty path), which spills to disk and is deleted when closed.
///
/// Keys compare as the protocol compares them (`text(_:)`). Safe to use from any task: every
/// call is short and runs under one lock.
final class HTTPKeySet: @unchecked Sendable {
  private let lock = NSLock()
  private let database: SQLiteDatabase
  /// Keys looked up per query.
  private static let chunk = 500

  init() throws {
    do {
      database = try SQLiteDatabase(path: "")
      try database.execute("CREATE TABLE keys (key TEXT PRIMARY KEY, value TEXT NOT NULL, id TEXT) WITHOUT ROWID")
    } catch let error as SQLiteError {
      throw DestinationError("cannot create a temporary database for the keys to keep: \(error.message)")
    }
  }

  /// Adds keys; `null` is never a record's key and is skipped.
  func insert(_ keys: [JSONValue]) throws {
    try insert(keys.map { DestinationRecord(key: $0, values: []) })
  }

  /// Adds the records' keys with the destination's ids for them (a rest `list:` gives them).
  func insert(_ records: [DestinationRecord]) throws {
    try locked {
      try database.execute("BEGIN")
      do {
        for record in records where record.key != .null {
          _ = try database.query(
            "INSERT OR IGNORE INTO keys (key, value, id) VALUES (?1, ?2, ?3)",
            [Self.text(record.key), record.key.rendered(compact: true), record.destinationID?.rendered(compact: true)])
        }
        try database.execute("COMMIT")
      } catch {
        _ = try? database.execute("ROLLBACK")
        throw error
      }
    }
  }

  /// The keys of `keys` that are not in the set, in order; `null` keys are skipped.
  func absent(_ keys: [JSONValue]) throws -> [JSONValue] {
    let candidates = keys.filter { $0 != .null }
    var present: Set<String> = []
    try locked {
      for start in stride(from: 0, to: candidates.count, by: Self.chunk) {
        let texts = candidates[start..<min(start + Self.chunk, candidates.count)].map(Self.text)
        let placeholders = texts.indices.map { "?\($0 + 1)" }.joined(separator: ", ")
        for row in try database.query("SELECT key FROM keys WHERE key IN (\(placeholders))", texts) {
          if let key = row.first ?? nil { present.insert(key) }
        }
      }
    }
    return candidates.filter { !present.contains(Self.text($0)) }
  }

  /// Up to `limit` keys of the set, as records with the ids inserted with them, in the order of
  /// their text and after the key whose text is `after`: `nil` for the first page.
  func page(after: String?, limit: Int) throws -> [DestinationRecord] {
    try locked {
      let rows = try database.query(
        "SELECT value, id FROM keys WHERE ?1 IS NULL OR key > ?1 ORDER BY key LIMIT \(max(limit, 1))", [after])
      return rows.compactMap { row in
        guard let key = row[0].flatMap({ try? JSONValue.parse($0) }) else { return nil }
        return DestinationRecord(key: key, values: [], destinationID: row[1].flatMap { try? JSONValue.parse($0) })
      }
    }
  }

  private func locked<T>(_ body: () throws -> T) throws -> T {
    lock.lock()
    defer { lock.unlock() }
    do {
      return try body()
    } catch let error as SQLiteError {
      throw DestinationError("the temporary database of keys failed: \(error.message)")
    }
  }

  /// A key as the protocol compares keys: by text, so the number 42 and the string "42" are one
  /// record, and a whole number written 42.0 is 42.
  static func text(_ key: JSONValue) -> String {
    switch key {
    case let .string(text): return text
    case let .int(number): return String(number)
    case let .double(number): return whole(number) ?? key.rendered(compact: true)
    case let .number(text): return Double(text).flatMap(whole) ?? text
    default: return key.rendered(compact: true)
    }
  }

  /// A double that holds a whole number exactly, in digits.
  private static func whole(_ number: Double) -> String? {
    guard number.isFinite, number.rounded() == number, abs(number) < 9e15 else { return nil }
    return String(Int(number))
  }
}
