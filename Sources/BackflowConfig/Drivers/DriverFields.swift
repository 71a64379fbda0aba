import Yams

/// The keys of one source or destination entry, for its driver to decode: each read records a
/// diagnostic at `file:line:col` instead of throwing, as the rest of loading does.
public struct DriverFields {
  let reader: NodeReader
  let fields: Fields

  /// `destinations.crm`, as messages name the entry.
  public var path: String { fields.path }

  public func has(_ key: String) -> Bool { fields.has(key) }

  /// A non-empty string, `${…}` resolved (and then a secret).
  public func string(_ key: String) -> Located<String>? {
    fields[key].flatMap { reader.nonEmptyString($0, path: fields.path(key)) }
  }

  /// A non-empty string that must start with one of `prefixes`.
  public func string(_ key: String, startingWith prefixes: [String], _ problem: String) -> Located<String>? {
    guard let node = fields[key], let text = string(key) else { return nil }
    guard prefixes.contains(where: text.value.hasPrefix) else {
      reader.invalid(text, at: node, fields.path(key), problem)
      return nil
    }
    return text
  }

  public func integer(_ key: String, minimum: Int) -> Located<Int>? {
    fields[key].flatMap { reader.integer($0, path: fields.path(key), minimum: minimum) }
  }

  public func boolean(_ key: String) -> Located<Bool>? {
    fields[key].flatMap { reader.boolean($0, path: fields.path(key)) }
  }

  public func interval(_ key: String) -> Located<Interval>? {
    fields[key].flatMap { reader.interval($0, path: fields.path(key)) }
  }

  /// The key a source takes to bound each model query: its database cancels a longer one.
  public static let queryTimeoutKey = "query_timeout"

  /// `query_timeout:`, a duration, on sources whose driver lists `queryTimeoutKey`.
  public var queryTimeout: Located<Interval>? { interval(Self.queryTimeoutKey) }

  public func choice<Choice: RawRepresentable & CaseIterable & Sendable>(_ key: String, as: Choice.Type = Choice.self)
    -> Located<Choice>? where Choice.RawValue == String
  {
    fields[key].flatMap { reader.choice($0, path: fields.path(key)) }
  }

  /// A mapping of names the user chooses to strings (`headers:`), in file order.
  public func namedStrings(_ key: String) -> [(name: Located<String>, value: Located<String>)] {
    guard let node = fields[key] else { return [] }
    return reader.namedEntries(node, path: fields.path(key)).compactMap { name, value in
      reader.string(value, path: fields.path("\(key).\(name.value)")).map { (name, $0) }
    }
  }

  /// The keys of the mapping under `key` (`auth:`), for the driver to read the same way; `nil`
  /// when it is absent or not a mapping (reported).
  public func nested(_ key: String, allowed: [String], required: [String] = []) -> DriverFields? {
    guard let node = fields[key] else { return nil }
    return reader.fields(node, path: fields.path(key), allowed: allowed, required: required).map {
      DriverFields(reader: reader, fields: $0)
    }
  }

  /// Reports a problem with `key` at its place in the file.
  public func error(_ message: String, at key: String) {
    reader.error("\(fields.path(key)): \(message)", at: fields.keyLocation(key) ?? fields.location)
  }

  /// Reports `text`, read from `key`, as invalid, phrased so that a secret is not shown.
  public func invalid(_ key: String, _ text: Located<String>, _ problem: String) {
    guard let node = fields[key] else { return }
    reader.invalid(text, at: node, fields.path(key), problem)
  }
}
