/// A model column a sync reads, and where its config names it.
public struct ColumnRead: Sendable, Equatable {
  public var name: String
  public var location: SourceLocation
  /// The config path that names it, for messages: `mappings[0].from`, `requests.upsert`.
  public var path: String

  public init(name: String, location: SourceLocation, path: String) {
    self.name = name
    self.location = location
    self.path = path
  }
}

/// The model columns a sync reads: every one of them, or the ones listed.
public struct ColumnReads: Sendable {
  /// The columns named by the match, the mappings and `record.row.NAME` in request templates,
  /// in config order.
  public var named: [ColumnRead] = []
  /// Where a request template reads the model row whole (`{{ record.row | json }}`): then every
  /// column of the model is read.
  public var wholeRow: SourceLocation?

  /// The columns a plan reads and fingerprints, sorted: the named ones, or all of `available`.
  public func used(of available: [String]) -> [String] {
    wholeRow == nil ? Set(named.map(\.name)).sorted() : available.sorted()
  }
}

/// A template of the sync that does not compile, which validation reports first.
public struct ColumnReadError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var location: SourceLocation

  public var description: String { message }
}

extension Sync {
  /// The model columns the sync reads besides its primary key. Throws a `ColumnReadError` for a
  /// mapping template that does not compile: a plan must not guess which columns it reads.
  public func columnReads() throws -> ColumnReads {
    var reads = ColumnReads()
    if let match { reads.named.append(ColumnRead(name: match.column.value, location: match.column.location, path: "match")) }
    for (index, mapping) in mappings.enumerated() {
      switch mapping.origin {
      case let .column(name):
        reads.named.append(ColumnRead(name: name.value, location: name.location, path: "mappings[\(index)].from"))
      case let .template(text):
        let template: MappingTemplate
        do {
          template = try MappingTemplate(text.value)
        } catch {
          throw ColumnReadError(message: "mappings[\(index)].template: \(error)", location: text.location)
        }
        reads.named += template.columns.map {
          ColumnRead(name: $0, location: text.location, path: "mappings[\(index)].template")
        }
      case .value: break
      }
    }
    if let requests {
      let row = requests.rowReads
      reads.named += row.named
      reads.wholeRow = row.wholeRow
    }
    return reads
  }
}

extension RequestTemplates {
  /// What the request templates read of the model row: `record.row.NAME` (also through
  /// `records`, a loop over them, or `$each`) names a column; `record.row`, `record` or
  /// `records` read whole read every column. Templates that do not compile read nothing
  /// (validation reports them).
  public var rowReads: ColumnReads {
    var reads = ColumnReads()
    for (operation, request) in requests {
      for text in request.templates {
        guard let template = try? MappingTemplate(text.value, variables: Self.variables) else { continue }
        // Walking `records` reads nothing of its own; walking `record.row.tags` reads tags.
        for (path, walked) in template.paths.map({ ($0, false) }) + template.lists.map({ ($0, true) }) {
          switch Self.rowColumn(read: path) {
          case .whole where walked && path == ["records"]: continue
          case .none: continue
          case .whole: reads.wholeRow = reads.wholeRow ?? text.location
          case let .column(name):
            reads.named.append(ColumnRead(name: name, location: text.location, path: "requests.\(operation.value)"))
          }
        }
      }
    }
    return reads
  }

  /// What one path of a request template reads of the model row.
  enum RowRead: Equatable {
    case none
    case whole
    case column(String)
  }

  /// `record.row.email` → email; `records.[].row` → the whole row; `record.key` → nothing.
  static func rowColumn(read path: [String]) -> RowRead {
    guard let rest = recordSteps(of: path) else { return .none }
    guard let step = rest.first else { return .whole }
    guard step == "row" else { return .none }
    return rest.dropFirst().first.map(RowRead.column) ?? .whole
  }

  /// What a path reads inside one record: `record.row.email` → `row.email`, `records.[].key` →
  /// `key`; empty for a record (or the list) read whole; `nil` for a path not into a record.
  static func recordSteps(of path: [String]) -> ArraySlice<String>? {
    guard let first = path.first, first == "record" || first == "records" else { return nil }
    var rest = path.dropFirst()
    if first == "records" {
      // One record of the list: an item, by position, first or last; anything else (`size`)
      // is not a record.
      guard let step = rest.first else { return rest }
      guard step == "[]" || step == "first" || step == "last" || step.allSatisfy(\.isNumber) else { return nil }
      rest = rest.dropFirst()
    }
    return rest
  }
}

extension Project {
  /// The columns of `sync`'s model read as JSON: its `json:` columns where the destination's
  /// records are JSON (rest, http, JSON Lines); none for tables and CSV, which get the text.
  public func jsonColumns(of sync: Sync) -> [String] {
    guard let destination = destinations.first(where: { $0.name.value == sync.destination.value }),
      destination.capabilities.nestsFields
    else { return [] }
    return model(of: sync)?.json.map(\.value) ?? []
  }
}
