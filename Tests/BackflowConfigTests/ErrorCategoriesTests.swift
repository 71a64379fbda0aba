import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// `error_categories:` in backflow.yaml: category name → regular expression, for `backflow errors`.
@Suite("error_categories")
struct ErrorCategoriesTests {
  /// `backflow.yaml` with `lines` appended from line 8.
  func load(_ lines: String, environment: [String: String] = [:]) -> LoadedProject {
    ProjectFixture.load(["backflow.yaml": ProjectFixture.projectFile + lines], environment: environment)
  }

  func errors(_ loaded: LoadedProject) -> [String] {
    loaded.diagnostics.sorted.filter { $0.severity == .error }.map(\.description)
  }

  @Test func categoriesKeepTheOrderTheyAreWrittenIn() throws {
    let loaded = load(
      """
      error_categories:
        zeta rate limits: "HTTP 429"
        alpha: '(?i)invalid email'
        "Rejected by CRM": constraint|not found

      """)
    #expect(errors(loaded).isEmpty)
    let categories = loaded.project.errorCategories
    try #require(categories.count == 3)
    #expect(categories.map(\.name.value) == ["zeta rate limits", "alpha", "Rejected by CRM"])
    #expect(categories.map(\.pattern.value) == ["HTTP 429", "(?i)invalid email", "constraint|not found"])
    #expect(categories[1].pattern.location == SourceLocation(file: "backflow.yaml", line: 10, column: 10))
  }

  @Test func noCategoriesIsTheDefault() {
    #expect(load("").project.errorCategories.isEmpty)
    #expect(load("error_categories:\n").project.errorCategories.isEmpty)
    #expect(errors(load("error_categories: {}\n")).isEmpty)
  }

  @Test(arguments: [
    ("(timeout", "expected ')'"),
    ("[a-", "expected ']'"),
    ("*x", "quantifier '*' must appear after expression"),
    ("a{2,1}", "range lower bound '2' must be less than or equal to upper bound '1'"),
  ])
  func aPatternThatDoesNotCompileIsAnErrorAtThePatternSayingWhy(pattern: String, why: String) {
    let loaded = load("error_categories:\n  fine: ok\n  timeouts: '\(pattern)'\n")
    #expect(
      errors(loaded) == [
        "backflow.yaml:10:13: error: error_categories: category \"timeouts\": \"\(pattern)\" is not a valid regular expression: \(why)"
      ])
    #expect(loaded.project.errorCategories.map(\.name.value) == ["fine"])
  }

  @Test func everyBadCategoryIsReportedInOneRun() {
    let loaded = load(
      """
      error_categories:
        uncategorised: x
        "": y
        empty: ""
        listed: [a, b]
        secret: ${PATTERN}
        good: ^duplicate

      """, environment: ["PATTERN": "x"])
    #expect(
      errors(loaded) == [
        "backflow.yaml:9:3: error: error_categories: \"uncategorised\" is where reasons that match no category are listed; name the category differently",
        "backflow.yaml:10:3: error: error_categories: a category name must not be empty",
        "backflow.yaml:11:10: error: error_categories: category \"empty\" must not be empty",
        "backflow.yaml:12:11: error: error_categories: category \"listed\" must be a string, got a list",
        "backflow.yaml:13:11: error: error_categories: category \"secret\" cannot read the environment: names, references and fixed choices are written out",
      ])
  }

  @Test func notAMappingAndMisspeltKeyAreErrors() {
    #expect(
      errors(load("error_categories: [a]\n")) == [
        "backflow.yaml:8:19: error: error_categories must be a mapping of names to settings, got a list"
      ])
    #expect(
      errors(load("error_category: { a: b }\n")) == [
        "backflow.yaml:8:1: error: unknown key \"error_category\" in backflow.yaml; did you mean \"error_categories\"?"
      ])
  }

  @Test func aPatternMatchesAnywhereInAReasonAndIsCaseSensitiveUnlessItSaysOtherwise() throws {
    let loaded = load("error_categories:\n  a: CHECK constraint\n  b: '(?i)^not found$'\n")
    let expressions = try loaded.project.errorCategories.map { try $0.expression() }
    try #require(expressions.count == 2)
    #expect(ErrorCategory.matches(expressions[0], "23514: CHECK constraint failed: tier <> 'x'"))
    #expect(!ErrorCategory.matches(expressions[0], "check constraint failed"))
    #expect(ErrorCategory.matches(expressions[1], "Not Found"))
    #expect(!ErrorCategory.matches(expressions[1], "record not found in CRM"))
  }
}
