// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Backflow",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "backflow", targets: ["backflow"]),
    .library(name: "BackflowConfig", targets: ["BackflowConfig"]),
    .library(name: "BackflowCommands", targets: ["BackflowCommands"]),
    // For Fuzz/, the libFuzzer package that builds on this one (docs/development.md).
    .library(name: "BackflowFuzzing", targets: ["BackflowFuzzing"]),
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
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
  ],
  targets: [
    // C libraries enter through pkg-config, as SwiftPM wraps SQLite3 itself.
    .systemLibrary(
      name: "CLibPQ", pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
    .systemLibrary(
      name: "CSQLite", pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
    .systemLibrary(
      name: "CMariaDB", pkgConfig: "libmariadb",
      providers: [.apt(["libmariadb-dev"]), .brew(["mariadb-connector-c"])]),
    // The ADBC 1.1 C ABI and the Arrow C data interface, declared in our own header; drivers are
    // loaded with dlopen, so nothing is linked.
    .target(name: "CADBC"),
    // The commit a release binary was built from (`make release` supplies it; see build.c).
    .target(name: "CBackflowBuild"),
    // glibc's malloc_trim, which its Swift module does not declare (see SnapshotWriter).
    .target(name: "CBackflowMemory"),

    // config → planner → engine → connectors (sources, destinations) → state.
    .target(
      name: "BackflowConfig",
      dependencies: [
        .product(name: "Yams", package: "Yams"),
        .product(name: "Stencil", package: "Stencil"),
      ]),
    .target(name: "BackflowPostgres", dependencies: ["CLibPQ"]),
    .target(name: "BackflowSQLite", dependencies: ["CSQLite"]),
    .target(name: "BackflowMySQL", dependencies: ["CMariaDB"]),
    // ADBC drivers, loaded with dlopen, and the model reader of `type: adbc` sources.
    .target(name: "BackflowADBC", dependencies: ["BackflowConfig", "BackflowSources", "CADBC"]),
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
      name: "BackflowSyncLogs",
      dependencies: ["BackflowADBC", "BackflowConfig", "BackflowSources", "BackflowState", "BackflowPostgres", "BackflowSQLite"]),
    // The registry of source and destination drivers: one folder per kind of connector.
    .target(
      name: "BackflowConnectors",
      dependencies: [
        "BackflowADBC", "BackflowConfig", "BackflowDestinations", "BackflowMySQL", "BackflowSources", "BackflowState",
        "BackflowSyncLogs",
      ]),
    .target(name: "BackflowPlanner", dependencies: ["BackflowConfig", "BackflowConnectors", "BackflowSources", "BackflowState"]),
    .target(
      name: "BackflowEngine",
      dependencies: [
        "BackflowConfig", "BackflowConnectors", "BackflowPlanner", "BackflowSources", "BackflowState", "BackflowDestinations",
        "BackflowSyncLogs", "BackflowAlerts", "CBackflowMemory",
      ]),
    // The read-only web UI, JSON API and /metrics over the state store (`backflow serve`).
    .target(
      name: "BackflowWeb",
      dependencies: [
        "BackflowConfig", "BackflowState",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ]),
    .target(
      name: "BackflowCommands",
      dependencies: [
        "BackflowConfig",
        "BackflowConnectors",
        "BackflowDestinations",
        "BackflowPlanner",
        "BackflowEngine",
        "BackflowState",
        "BackflowWeb",
        "BackflowAlerts",
        "CBackflowBuild",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      // Schemas is a link to the top-level schemas/, so the files exist once.
      resources: [
        .embedInCode("Schemas/project.schema.json"),
        .embedInCode("Schemas/sync.schema.json"),
        .embedInCode("Schemas/model.schema.json"),
      ]),
    .executableTarget(name: "backflow", dependencies: ["BackflowCommands"]),
    // The parsers of untrusted text as fuzz entry points: Fuzz/ runs them under libFuzzer, and
    // FuzzCorpusTests replays the kept corpus through them without it.
    .target(name: "BackflowFuzzing", dependencies: ["BackflowConfig", "BackflowConnectors", "BackflowPlanner"]),

    .target(
      name: "BackflowTestSupport",
      dependencies: [
        "BackflowADBC", "BackflowConfig", "BackflowConnectors", "BackflowDestinations", "BackflowMySQL", "BackflowPlanner",
        "BackflowEngine", "BackflowPostgres", "BackflowSources", "BackflowSQLite", "BackflowState",
        // The HTTP protocol server that destination tests talk to over 127.0.0.1, and an SMTP server.
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]),
    // The protocol server as a process, for the benchmark's HTTP scenario (bench/README.md).
    .executableTarget(name: "protocol-server", dependencies: ["BackflowConfig", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowConfigTests",
      dependencies: ["BackflowConfig", "BackflowConnectors", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowCommandsTests",
      dependencies: [
        "BackflowCommands", "BackflowConfig", "BackflowEngine", "BackflowPostgres", "BackflowSQLite", "BackflowState",
        "BackflowTestSupport", "backflow",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ]),
    .testTarget(
      name: "BackflowPlannerTests",
      dependencies: [
        "BackflowADBC", "BackflowConfig", "BackflowConnectors", "BackflowFuzzing", "BackflowPlanner", "BackflowPostgres", "BackflowSQLite",
        "BackflowSources", "BackflowState", "BackflowTestSupport",
      ]),
    .testTarget(
      name: "BackflowDestinationTests",
      dependencies: ["BackflowConfig", "BackflowDestinations", "BackflowPostgres", "BackflowSQLite", "BackflowTestSupport"]),
    .testTarget(
      name: "BackflowEngineTests",
      dependencies: [
        "BackflowADBC", "BackflowConfig", "BackflowConnectors", "BackflowDestinations", "BackflowEngine", "BackflowPlanner", "BackflowPostgres",
        "BackflowSources", "BackflowState", "BackflowTestSupport",
      ]),
    .testTarget(
      name: "BackflowSyncLogsTests",
      dependencies: [
        "BackflowConfig", "BackflowConnectors", "BackflowSyncLogs", "BackflowPostgres", "BackflowSQLite", "BackflowState",
        "BackflowTestSupport",
      ]),
    .testTarget(
      name: "BackflowWebTests",
      dependencies: ["BackflowConfig", "BackflowWeb", "BackflowTestSupport", "backflow"]),
    .testTarget(
      name: "BackflowAlertsTests",
      dependencies: [
        "BackflowAlerts", "BackflowConfig", "BackflowEngine", "BackflowPlanner", "BackflowSQLite", "BackflowState",
        "BackflowTestSupport",
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]),
    .testTarget(
      name: "BackflowADBCTests",
      dependencies: [
        "BackflowADBC", "BackflowConfig", "BackflowPlanner", "BackflowPostgres", "BackflowSources", "BackflowTestSupport",
      ]),
    .testTarget(
      name: "BackflowConnectorTests",
      dependencies: ["BackflowMySQL", "BackflowPostgres", "BackflowSQLite", "BackflowTestSupport", "CSQLite"]),
  ],
  swiftLanguageModes: [.v6]
)
