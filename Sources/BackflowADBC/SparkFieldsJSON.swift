import BackflowConfig

/// A model row's `fields` (sync logs) computed inside Spark: a Spark SQL expression giving the
/// same compact JSON text, byte for byte, that Backflow writes for the row's values read through
/// the driver (`ArrowField.value`, then `PlanFileFields`), so a row's fields read the same
/// whether Spark or Backflow wrote them. `nil` for a column of a type it does not render that way;
/// those rows are then listed through Backflow. See docs/sync-logs.md.
enum SparkFieldsJSON {
  private static let dialect = ADBCDialect.spark

  /// `{"COLUMN":VALUE,…}` for `columns`, in that order, from `fields`, the columns' Arrow fields as
  /// the driver returns them.
  static func object(of columns: [String], in fields: [ArrowField]) -> String? {
    var parts: [String] = []
    for (index, column) in columns.enumerated() {
      guard let field = fields.first(where: { $0.name == column }),
        let value = value(dialect.quoteIdentifier(column), field, depth: 0)
      else { return nil }
      parts += [dialect.literal((index == 0 ? "{" : ",") + JSONValue.quoted(column) + ":"), value]
    }
    return "concat(\(parts.isEmpty ? "'{'" : parts.joined(separator: ", ")), '}')"
  }

  /// JSON of `expression`, `null` included.
  private static func value(_ expression: String, _ field: ArrowField, depth: Int) -> String? {
    guard let json = nonNull(expression, field, depth: depth) else { return nil }
    return "CASE WHEN \(expression) IS NULL THEN 'null' ELSE \(json) END"
  }

  /// JSON of `expression`, known not to be NULL. Lambda variables are named by depth, so a nested
  /// one never hides the one it is inside.
  private static func nonNull(_ expression: String, _ field: ArrowField, depth: Int) -> String? {
    guard field.dictionary == nil, field.extensionName == nil else { return nil }
    switch field.type {
    case .null: return "'null'"
    // Their JSON is their text.
    case .bool, .signed, .decimal: return text(expression, field)
    case .float32, .float64: return number(expression)
    case .list, .fixedList:
      guard let element = field.children.first else { return nil }
      let item = "x\(depth)"
      guard let json = value(item, element, depth: depth + 1) else { return nil }
      return "concat('[', array_join(transform(\(expression), \(item) -> \(json)), ','), ']')"
    case .structure:
      var parts: [String] = []
      for (index, child) in field.children.enumerated() {
        guard let json = value("\(expression).\(dialect.quoteIdentifier(child.name))", child, depth: depth) else {
          return nil
        }
        parts += [dialect.literal((index == 0 ? "{" : ",") + JSONValue.quoted(child.name) + ":"), json]
      }
      return parts.isEmpty ? "'{}'" : "concat(\(parts.joined(separator: ", ")), '}')"
    case .map:
      // An object keyed by each key's text, as Backflow reads a map.
      guard let entry = field.children.first, entry.children.count == 2 else { return nil }
      let item = "x\(depth)"
      guard let key = text("\(item).key", entry.children[0]),
        let json = value("\(item).value", entry.children[1], depth: depth + 1)
      else { return nil }
      return "concat('{', array_join(transform(map_entries(\(expression)), \(item) -> concat(\(quoted(key)), ':', \(json))), ','), '}')"
    default:
      return text(expression, field).map(quoted)
    }
  }

  /// The text of a value Backflow reads as a JSON string (strings, binary as base64, dates,
  /// timestamps) or as a bare literal (booleans, integers, decimals), as a map's key also takes it;
  /// `nil` for any other type.
  private static func text(_ expression: String, _ field: ArrowField) -> String? {
    guard field.dictionary == nil, field.extensionName == nil else { return nil }
    switch field.type {
    case .utf8, .utf8View: return expression
    case .signed, .decimal: return "CAST(\(expression) AS STRING)"
    case .bool: return "IF(\(expression), 'true', 'false')"
    // Spark's base64 breaks lines every 76 characters; Backflow's does not.
    case .binary, .binaryView: return "replace(base64(\(expression)), concat(chr(13), chr(10)), '')"
    case .date32: return "CAST(\(expression) AS STRING)"
    case let .timestamp(unit, zone) where unit.fractionDigits <= 6:
      // Rendered in the session's time zone, which is the zone the driver gives the column.
      let fraction = unit.fractionDigits == 0 ? "" : "." + String(repeating: "S", count: unit.fractionDigits)
      return "date_format(\(expression), \(dialect.literal("yyyy-MM-dd'T'HH:mm:ss" + fraction + (zone == nil ? "" : "xxx"))))"
    default: return nil
    }
  }

  /// `text` as a JSON string: quotes, backslashes and control characters escaped as
  /// `JSONValue.quoted` escapes them. Most text has none, so the replacements run only where needed.
  private static func quoted(_ text: String) -> String {
    let literal = dialect.literal
    var escaped = "replace(replace(\(text), \(literal("\\")), \(literal("\\\\"))), '\"', \(literal("\\\"")))"
    for code in 0..<0x20 {
      let replacement =
        switch code {
        case 0x0A: "\\n"
        case 0x0D: "\\r"
        case 0x09: "\\t"
        default: "\\u00" + (code < 0x10 ? "0" : "") + String(code, radix: 16)
        }
      escaped = "replace(\(escaped), chr(\(code)), \(dialect.literal(replacement)))"
    }
    let special = dialect.literal(#"[\x00-\x1f"\\]"#)
    return "concat('\"', CASE WHEN \(text) RLIKE \(special) THEN \(escaped) ELSE \(text) END, '\"')"
  }

  /// A float or double as Swift's `description` spells it, which is what Backflow writes: the
  /// shortest digits (Java's `toString`, which Spark's cast gives), written plainly from 1e-4 up
  /// to 2^53 and otherwise as `1.5e+16`; NaN and the infinities as strings. Inside the lambdas only
  /// their own variables are read, so no column name can be hidden by one.
  private static func number(_ expression: String) -> String {
    let double = "CAST(\(expression) AS DOUBLE)"
    // Java's text (`123.45`, `1.2345E-5`): the integer part, the fraction, the exponent.
    let pattern = dialect.literal(#"^-?([0-9]+)\.([0-9]+)(E(-?[0-9]+))?$"#)
    let parts = """
      named_struct('i', regexp_extract(n.t, \(pattern), 1), 'f', regexp_extract(n.t, \(pattern), 2),
        'e', IF(regexp_extract(n.t, \(pattern), 4) = '', 0, CAST(regexp_extract(n.t, \(pattern), 4) AS INT)))
      """
    // The significant digits, and the power of ten of the first one.
    let digits = """
      named_struct('d', regexp_replace(concat(p.i, p.f), '^0+|0+$', ''),
        'x', length(p.i) + p.e - (length(concat(p.i, p.f)) - length(regexp_replace(concat(p.i, p.f), '^0+', ''))) - 1)
      """
    let plain = """
      IF(q.x >= 0, concat(rpad(substr(q.d, 1, q.x + 1), q.x + 1, '0'), '.', IF(length(q.d) > q.x + 1, substr(q.d, q.x + 2), '0')),
        concat('0.', repeat('0', -q.x - 1), q.d))
      """
    let scientific = """
      concat(substr(q.d, 1, 1), IF(length(q.d) > 1, concat('.', substr(q.d, 2)), ''), 'e', IF(q.x < 0, '-', '+'),
        IF(abs(q.x) < 10, '0', ''), CAST(abs(q.x) AS STRING))
      """
    let finite = """
      element_at(transform(array(named_struct('t', CAST(\(expression) AS STRING), 'v', \(double))), n ->
        concat(IF(n.v < 0, '-', ''), element_at(transform(array(\(parts)), p -> element_at(transform(array(\(digits)), q ->
          IF(q.x >= -4 AND abs(n.v) <= 9007199254740992D, \(plain), \(scientific))), 1)), 1))), 1)
      """
    return """
      CASE WHEN isnan(\(double)) THEN '"NaN"' WHEN \(double) = double('Infinity') THEN '"Infinity"'
        WHEN \(double) = double('-Infinity') THEN '"-Infinity"'
        WHEN \(double) = 0 THEN IF(CAST(\(expression) AS STRING) LIKE '-%', '-0.0', '0.0') ELSE \(finite) END
      """
  }
}
