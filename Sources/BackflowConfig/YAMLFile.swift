import Foundation
import Yams

/// One YAML file composed into nodes that keep their marks, or the diagnostic that says why not.
struct YAMLFile {
  let root: Node?
  /// True when the text is not YAML; the file's contents are then not checked further.
  let isMalformed: Bool

  /// Parses `text`; a syntax error becomes a diagnostic at the line and column libyaml reports.
  init(text: String, displayPath: String, diagnostics: inout Diagnostics) {
    do {
      root = try Yams.compose(yaml: text)
      isMalformed = false
    } catch let error as YamlError {
      root = nil
      isMalformed = true
      let (message, line, column) = Self.describe(error)
      diagnostics.error(message, at: SourceLocation(file: displayPath, line: line, column: column))
    } catch {
      root = nil
      isMalformed = true
      diagnostics.error("cannot read YAML: \(error)", at: SourceLocation(file: displayPath, line: 1, column: 1))
    }
  }

  private static func describe(_ error: YamlError) -> (String, Int, Int) {
    switch error {
    case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
      let .composer(context, problem, mark, _):
      let while_ = context.map { " \($0.text)" } ?? ""
      return ("invalid YAML: \(problem)\(while_)", mark.line, mark.column)
    case let .duplicatedKeysInMapping(duplicates, context):
      let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
      return ("duplicate key \(keys) in the same mapping; each key may appear once", context.mark.line, context.mark.column)
    case let .reader(problem, offset, _, yaml):
      let (line, column) = offset.map { lineAndColumn(ofCharacterOffset: $0, in: yaml) } ?? (1, 1)
      return ("cannot read YAML: \(problem)", line, column)
    default:
      return ("cannot read YAML: \(error)", 1, 1)
    }
  }

  private static func lineAndColumn(ofCharacterOffset offset: Int, in text: String) -> (Int, Int) {
    var line = 1
    var column = 1
    for character in text.prefix(offset) {
      if character == "\n" {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return (line, column)
  }
}
