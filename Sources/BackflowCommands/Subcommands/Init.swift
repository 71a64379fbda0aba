import ArgumentParser
import Foundation

extension Backflow {
  /// `backflow init`: a valid starting project in an empty directory.
  public struct Init: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Scaffold backflow.yaml, syncs/ with a commented example, .gitignore and the schemas.",
      discussion: "Refuses to overwrite a file that already exists.")

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    public init() {}

    public func run() async throws {
      let written = try ProjectScaffold().write(into: global.projectURL)
      if !global.quiet {
        print("Created a Backflow project in \(global.project):")
        for path in written { print("  \(path)") }
        print("\nNext: edit backflow.yaml and syncs/, then run `backflow validate`.")
      }
    }
  }
}
