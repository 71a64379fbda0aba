/// "1 sync", "3 syncs": counts in messages and summaries.
public func plural(_ count: Int, _ noun: String) -> String {
  "\(count) \(noun)\(count == 1 ? "" : "s")"
}
