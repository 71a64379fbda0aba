@testable import BackflowConfig
import Testing

@Suite("did you mean")
struct SuggestionTests {
  @Test(arguments: [
    ("mdoe", "mode"), ("mapings", "mappings"), ("destinaton", "destination"), ("Mode", "mode"),
    ("on-delete", "on_delete"),
  ])
  func suggestsTheNearKey(_ typo: String, _ key: String) {
    #expect(Suggestion.closest(to: typo, in: ConfigKeys.sync) == key)
  }

  @Test(arguments: ["colour", "x", "scheduler_timezone"])
  func staysQuietWhenNothingIsClose(_ word: String) {
    #expect(Suggestion.closest(to: word, in: ConfigKeys.sync) == nil)
  }

  @Test func distanceCountsTranspositionsOnce() {
    #expect(Suggestion.editDistance("mode", "mdoe") == 1)
    #expect(Suggestion.editDistance("kitten", "sitting") == 3)
    #expect(Suggestion.editDistance("", "abc") == 3)
  }
}
