import ArgumentParser
import BackflowConfig
import CBackflowBuild

extension Backflow {
  /// `backflow version`: the version, and the git commit the binary was built from.
  public struct Version: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Print Backflow's version and the git commit it was built from.",
      discussion: "`make release` bakes the commit in; other builds say it is unknown. Opens no project.")

    @Option(help: "text or json ({\"format_version\": 1, \"version\": …, \"commit\": … or null}).")
    var format: HistoryFormat = .text

    public init() {}

    public func run() async throws {
      let commit = BackflowVersion.commit
      switch format {
      case .text:
        print("backflow \(BackflowVersion.current) (commit \(commit ?? "unknown"))")
      case .json:
        let json = JSONValue.object([
          ("format_version", .int(1)), ("version", .string(BackflowVersion.current)), ("commit", commit.map(JSONValue.string) ?? .null),
        ])
        print(json.rendered())
      }
    }
  }
}

extension BackflowVersion {
  /// The git commit this binary was built from, when its build said (`make release`); `nil` otherwise.
  public static var commit: String? {
    let text = String(cString: backflow_build_commit())
    return text.isEmpty ? nil : text
  }
}
