// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Backflow",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "backflow", targets: ["backflow"]),
    .library(name: "BackflowConfig", targets: ["BackflowConfig"]),
    .library(name: "BackflowCommands", targets: ["BackflowCommands"]),
  ],
  dependencies: [
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    // TLS for SMTP (smtps://, STARTTLS); already resolved for async-http-client.
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.36.0"),
    .package(url: "https://github.com/stencilproject/Stencil", from: "0.15.1"),
  ],
  targets: [
    // C libraries enter through pkg-config, as SwiftPM wraps SQLite3 itself.
    .systemLibrary(
      name: "CLibPQ", pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
    .systemLibrary(
      name: "CSQLite", pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),

    // config → planner → engine → connectors (sources, destinations) → state.
    .target(
      name: "BackflowConfig",
      dependencies: [
        .product(name: "Yams", package: "Yams"),
        .product(name: "Stencil", package: "Stencil"),
      ]),
    .target(name: "BackflowPostgres", dependencies: ["CLibPQ"]),
    .target(name: "BackflowSQLite", dependencies: ["CSQLite"]),
    .target(name: "BackflowSources", dependencies: ["BackflowConfig", "BackflowPostgres", "BackflowSQLite"]),
    .target(name: "BackflowState", dependencies: ["BackflowConfig", "BackflowPostgres", "BackflowSQLite"]),
    .target(
      name: "BackflowDestinations",
      dependencies: [
        "BackflowConfig", "BackflowPostgres", "BackflowSQLite",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]),
    // Alerts: judged after each run, kept in state, delivered to Slack, webhooks and mail.
    .target(
      name: "BackflowAlerts",
      dependencies: [
        "BackflowConfig", "BackflowState", "BackflowDestinations",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]),
    .target(
      name: "BackflowSyncLogs", dependencies: ["BackflowConfig", "BackflowState", "BackflowPostgres", "BackflowSQLite"]),
    .target(name: "BackflowPlanner", dependencies: ["BackflowConfig", "BackflowSources", "BackflowState"]),
    .target(
      name: "BackflowEngine",
      dependencies: [
        "BackflowConfig", "BackflowPlanner", "BackflowState", "BackflowDestinations", "BackflowSyncLogs", "BackflowAlerts",
      ]),
    .target(
      name: "BackflowCommands",
      dependencies: [
        "BackflowConfig",
        "BackflowPlanner",
        "BackflowEngine",
        "BackflowAlerts",
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

    .target(
      name: "BackflowTestSupport",
      dependencies: [
        "BackflowConfig", "BackflowPlanner", "BackflowEngine", "BackflowPostgres", "BackflowSQLite", "BackflowState",
        "BackflowSyncLogs", "BackflowAlerts",
        // The HTTP protocol server that destination tests talk to over 127.0.0.1, and an SMTP server.
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]),
    // The protocol server as a process, for the benchmark's HTTP scenario (bench/README.md).
    .executableTarget(name: "protocol-server", dependencies: ["BackflowTestSupport"]),
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
      name: "BackflowDestinationTests",
      dependencies: ["BackflowDestinations", "BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowEngineTests",
      dependencies: ["BackflowEngine", "BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowSyncLogsTests",
      dependencies: ["BackflowSyncLogs", "BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowAlertsTests",
      dependencies: ["BackflowAlerts", "BackflowEngine", "BackflowSQLite", "BackflowState", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowConnectorTests",
      dependencies: ["BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
