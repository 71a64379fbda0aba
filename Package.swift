// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Backflow",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "backflow", targets: ["backflow"]),
    .library(name: "BackflowConfig", targets: ["BackflowConfig"]),
    .library(name: "BackflowCommands", targets: ["BackflowCommands"]),
  ],
  dependencies: [
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
  ],
  targets: [
    // C libraries enter through pkg-config, as SwiftPM wraps SQLite3 itself.
    .systemLibrary(
      name: "CLibPQ", pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
    .systemLibrary(
      name: "CSQLite", pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),

    // config → planner → engine → connectors (sources, destinations) → state; the engine joins
    // with apply.
    .target(
      name: "BackflowConfig",
      dependencies: [.product(name: "Yams", package: "Yams")]),
    .target(name: "BackflowPostgres", dependencies: ["CLibPQ"]),
    .target(name: "BackflowSQLite", dependencies: ["CSQLite"]),
    .target(name: "BackflowSources", dependencies: ["BackflowConfig", "BackflowPostgres", "BackflowSQLite"]),
    .target(name: "BackflowState", dependencies: ["BackflowConfig", "BackflowPostgres", "BackflowSQLite"]),
    .target(name: "BackflowPlanner", dependencies: ["BackflowConfig", "BackflowSources", "BackflowState"]),
    .target(
      name: "BackflowCommands",
      dependencies: [
        "BackflowConfig",
        "BackflowPlanner",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      // Schemas is a link to the top-level schemas/, so the files exist once.
      resources: [
        .embedInCode("Schemas/project.schema.json"),
        .embedInCode("Schemas/sync.schema.json"),
        .embedInCode("Schemas/model.schema.json"),
      ]),
    .executableTarget(name: "backflow", dependencies: ["BackflowCommands"]),

    .target(name: "BackflowTestSupport", dependencies: ["BackflowConfig", "BackflowPlanner", "BackflowPostgres"]),
    .testTarget(
      name: "BackflowConfigTests",
      dependencies: ["BackflowConfig", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowCommandsTests",
      dependencies: ["BackflowCommands", "BackflowSQLite", "BackflowState", "BackflowTestSupport", "backflow"]),
    .testTarget(
      name: "BackflowPlannerTests",
      dependencies: ["BackflowPlanner", "BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowConnectorTests",
      dependencies: ["BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
