import ArgumentParser

/// How `validate` prints its diagnostics.
public enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  /// `file:line:col: error: message`, for people and editors.
  case text
  /// Terraform's `validate -json` shape, for tools.
  case json
  /// GitHub Actions workflow commands, which annotate the pull request.
  case github
}
