/// A table name as config writes it (`table:` on a model, `object:` on a table destination):
/// `table` or `schema.table`, a part in double quotes when it holds dots, quotes or capitals that
/// must stay (`"My.Schema"."Contacts"`). Each connector quotes the parts for its own database, so
/// a name never reaches SQL as SQL.
public enum TableName {
  /// The parts of a table name, optionally schema-qualified: `crm.contacts` is `crm` and
  /// `contacts`, `"My.Schema"."Contacts"` is `My.Schema` and `Contacts`. `nil` when quotes do not
  /// pair up, a part is empty, or there are more than two parts.
  public static func parts(_ object: String) -> [String]? {
    var parts: [String] = []
    var current = ""
    var wasQuoted = false
    var index = object.startIndex
    while index < object.endIndex {
      let character = object[index]
      if character == "\"" {
        guard current.isEmpty, !wasQuoted else { return nil }
        var closed = false
        index = object.index(after: index)
        while index < object.endIndex {
          if object[index] == "\"" {
            let next = object.index(after: index)
            if next < object.endIndex, object[next] == "\"" {
              current.append("\"")
              index = object.index(after: next)
              continue
            }
            closed = true
            index = next
            break
          }
          current.append(object[index])
          index = object.index(after: index)
        }
        guard closed, !current.isEmpty else { return nil }
        wasQuoted = true
        continue
      }
      if character == "." {
        guard !current.isEmpty else { return nil }
        parts.append(current)
        current = ""
        wasQuoted = false
      } else {
        guard !wasQuoted else { return nil }
        current.append(character)
      }
      index = object.index(after: index)
    }
    guard !current.isEmpty else { return nil }
    parts.append(current)
    return parts.count <= 2 ? parts : nil
  }
}
