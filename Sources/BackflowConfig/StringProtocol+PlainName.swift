extension StringProtocol {
  /// An ASCII letter or `_`, then letters, digits and `_` (and `-` when `hyphens`): the shape of
  /// environment variable names, SQL identifiers and Backflow's own names.
  func isPlainName(hyphens: Bool = false) -> Bool {
    guard let first, first == "_" || (first.isASCII && first.isLetter) else { return false }
    return allSatisfy { $0 == "_" || (hyphens && $0 == "-") || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
  }
}
