// swift-tools-version:6.0
import Foundation
import PackageDescription

// libFuzzer targets for the parsers of untrusted text (docs/development.md, "Fuzzing"). A package
// of its own, so that only `make fuzz` builds them with `-sanitize=fuzzer,address`, never
// `swift build` or `make test` in the main package. Each target only hands its input to one `FuzzEntry`
// (Sources/BackflowFuzzing) through `FuzzDriver`.

// A package found by path is known by its directory's name, whatever the checkout is called.
let backflow = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let entries = ["project", "template", "json", "cron", "plan-file", "result-path"]

let package = Package(
  name: "BackflowFuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(path: "..")],
  targets: [
    .target(
      name: "FuzzDriver", dependencies: [.product(name: "BackflowFuzzing", package: backflow)],
      path: "Targets/FuzzDriver")
  ]
    + entries.map { entry in
      .executableTarget(name: "fuzz-\(entry)", dependencies: ["FuzzDriver"], path: "Targets/fuzz-\(entry)")
    },
  swiftLanguageModes: [.v6]
)
