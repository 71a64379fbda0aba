/// Columns aligned for reading at a terminal: a dim header, then rows whose cells may be coloured.
///
/// Cells are padded before they are painted, so colour escapes never count towards a width.
struct TextTable {
  enum Alignment {
    case left
    case right
  }

  struct Cell: ExpressibleByStringLiteral {
    var text: String
    var style: Terminal.Style?

    init(_ text: String, _ style: Terminal.Style? = nil) {
      self.text = text
      self.style = style
    }

    init(stringLiteral text: String) {
      self.init(text)
    }
  }

  var columns: [(title: String, alignment: Alignment)]
  var rows: [[Cell]] = []

  init(_ columns: [(String, Alignment)]) {
    self.columns = columns.map { (title: $0.0, alignment: $0.1) }
  }

  mutating func append(_ row: [Cell]) {
    rows.append(row)
  }

  /// One line per row, header first, each starting with `indent`, without trailing spaces.
  func lines(_ terminal: Terminal, indent: String = "  ") -> [String] {
    let widths = columns.indices.map { column in
      ([columns[column].title] + rows.map { $0[column].text }).map(\.count).max() ?? 0
    }
    func line(_ cells: [Cell], style: Terminal.Style? = nil) -> String {
      var text = indent
      for (column, cell) in cells.enumerated() {
        let padding = String(repeating: " ", count: widths[column] - cell.text.count)
        let isLast = column == cells.count - 1
        let padded =
          columns[column].alignment == .right
          ? padding + paint(cell, terminal) : paint(cell, terminal) + (isLast ? "" : padding)
        text += (column == 0 ? "" : "  ") + padded
      }
      return style.map { terminal.paint(text, $0) } ?? text
    }
    return [line(columns.map { Cell($0.title) }, style: .dim)] + rows.map { line($0) }
  }

  private func paint(_ cell: Cell, _ terminal: Terminal) -> String {
    cell.style.map { terminal.paint(cell.text, $0) } ?? cell.text
  }
}
