@testable import BackflowConfig
import Testing

@Suite("${NAME} interpolation")
struct InterpolationTests {
  let environment = ["TOKEN": "s3cr3t", "EMPTY": "", "HOST": "db.internal"]

  @Test func plainTextIsNotASecret() {
    let resolved = Interpolation.resolve("sqlite:.backflow/state.db", environment: environment)
    #expect(resolved == Interpolation(value: "sqlite:.backflow/state.db", isSecret: false, missingVariables: [], syntaxError: nil))
  }

  @Test func variablesAreReadAndMarkSecret() {
    let resolved = Interpolation.resolve("Bearer ${TOKEN} @ ${HOST}", environment: environment)
    #expect(resolved.value == "Bearer s3cr3t @ db.internal")
    #expect(resolved.isSecret)
    #expect(resolved.missingVariables.isEmpty)
  }

  @Test func defaultsApplyOnlyWhenUnset() {
    #expect(Interpolation.resolve("${NOPE:-fallback}", environment: environment).value == "fallback")
    #expect(Interpolation.resolve("${HOST:-fallback}", environment: environment).value == "db.internal")
    #expect(Interpolation.resolve("${EMPTY:-fallback}", environment: environment).value == "fallback")
    #expect(Interpolation.resolve("${EMPTY}", environment: environment).value == "")
    // A default still marks the value secret, so output never depends on what is set.
    #expect(Interpolation.resolve("${NOPE:-fallback}", environment: environment).isSecret)
  }

  @Test func missingVariablesAreNamed() {
    let resolved = Interpolation.resolve("${A}-${TOKEN}-${B}", environment: environment)
    #expect(resolved.missingVariables == ["A", "B"])
  }

  @Test func doubleDollarIsALiteral() {
    // As in Terraform, the leftmost "$${" is the escape, so "$$${X}" is "$" then a literal "${X}".
    let resolved = Interpolation.resolve("cost: $$${TOKEN} and $${HOST} and $5", environment: environment)
    #expect(resolved.value == "cost: $${TOKEN} and ${HOST} and $5")
    #expect(!resolved.isSecret)
  }

  @Test(arguments: ["${TOKEN", "${}", "${1ABC}", "${A B}"])
  func malformedReferencesAreErrors(_ text: String) {
    #expect(Interpolation.resolve(text, environment: environment).syntaxError != nil)
  }
}
