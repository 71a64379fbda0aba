import BackflowConfig
import Foundation

/// Reads models from one source: their columns without running them, and their rows as a stream.
public protocol ModelReader: AnyObject {
  /// The columns a model's result has, in order; the query is checked, not run.
  func columns(of model: ModelSQL) throws -> [String]
  /// Streams the model's rows sorted by `key`'s text, with the values of `columns`.
  func rows(of model: ModelSQL, key: String, columns: [String]) throws -> any ModelRowStream
  /// The rows whose `key`, as text (as plans and snapshots spell keys), is `value`: at most
  /// `limit` of them, with the values of `columns`. One row by its key, for `backflow test`.
  func rows(of model: ModelSQL, key: String, equalTo value: String, columns: [String], limit: Int) throws
    -> [ModelRow]
  /// `name` quoted as an identifier of this source's database: how a `table:` model's table and a
  /// dbt model's relation are named.
  func quoteIdentifier(_ name: String) -> String
}

/// The SQL of a model, ready to be wrapped as a subquery.
public struct ModelSQL: Sendable, Equatable {
  public var text: String
  /// A `table:` or dbt model's table, each part quoted for the source's database; `nil` for a query.
  public var table: String?

  /// `quote` is the source's identifier quoting (`ModelReader.quoteIdentifier`): a table name
  /// from config, or a dbt relation, reaches SQL only quoted.
  public init(_ relation: Model.Relation, quote: (String) -> String) {
    switch relation {
    case let .query(sql):
      text = Self.trimmed(sql.value)
    case let .table(name):
      // Validation refuses a name that does not parse; should one reach here, quoting it whole
      // still keeps it a name.
      let table = (TableName.parts(name.value) ?? [name.value]).map(quote).joined(separator: ".")
      self.table = table
      text = "SELECT * FROM \(table)"
    case let .dbt(relation):
      let table = relation.quoted(quote)
      self.table = table
      text = "SELECT * FROM \(table)"
    }
  }

  /// Every row of `table`, already quoted for the source's database.
  public init(table: String) {
    self.table = table
    text = "SELECT * FROM \(table)"
  }

  /// A trailing semicolon ends a statement but cannot end a subquery.
  private static func trimmed(_ sql: String) -> String {
    var text = Substring(sql)
    while let last = text.last, last.isWhitespace || last == ";" { text.removeLast() }
    return String(text)
  }

  /// `SELECT list FROM (model) AS backflow_model rest`, and where the model's text starts in it.
  ///
  /// The model goes on lines of its own so a trailing `-- comment` cannot swallow the parenthesis.
  public func wrapped(select list: String, rest: String = "") -> (sql: String, modelOffset: Int) {
    let prefix = "SELECT \(list) FROM (\n"
    return (prefix + text + "\n) AS backflow_model" + rest, prefix.count)
  }
}

extension ModelReader {
  /// The SQL of a model on this source, table names quoted for its database.
  public func sql(of relation: Model.Relation) -> ModelSQL {
    ModelSQL(relation, quote: quoteIdentifier)
  }
}
