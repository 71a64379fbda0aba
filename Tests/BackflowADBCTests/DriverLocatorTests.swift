import BackflowADBC
import BackflowTestSupport
import Foundation
import Testing

/// Where a driver's name leads: BACKFLOW_ADBC_PATH, the Python package of the python3 on the
/// PATH, driver manifests, and a clear error naming each place when none has it.
final class DriverLocatorTests {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("backflow-locator-\(UUID().uuidString)")

  init() throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  deinit {
    try? FileManager.default.removeItem(at: folder)
  }

  @Test func backflowADBCPathComesFirst() throws {
    let library = folder.appendingPathComponent("libadbc_driver_sqlite.so").path
    FileManager.default.createFile(atPath: library, contents: Data())
    var environment = try ADBCTestDrivers.environment()
    environment["BACKFLOW_ADBC_PATH"] = "/nonexistent:\(folder.path)"
    let found = try ADBCDriverLocator(environment: environment, manifestFolders: []).locate("adbc_driver_sqlite")
    #expect(found.path == library)
  }

  @Test func thePythonPackageOfThePython3OnThePath() throws {
    let found = try ADBCDriverLocator(environment: ADBCTestDrivers.environment(), manifestFolders: [])
      .locate("adbc_driver_postgresql")
    #expect(found.path == (try ADBCTestDrivers.library("adbc_driver_postgresql")))
    // And it loads: the entry point answers.
    _ = try ADBCDriver.load(path: found.path)
  }

  @Test func aManifestNamesTheLibraryForThisPlatform() throws {
    let manifest = """
      name = "Example"
      [Driver]
      entrypoint = "ExampleInit"
      [Driver.shared]
      linux_amd64 = "/opt/example/amd64/libexample.so"
      linux_arm64 = "/opt/example/arm64/libexample.so"
      """
    try manifest.write(to: folder.appendingPathComponent("example.toml"), atomically: true, encoding: .utf8)
    let found = try ADBCDriverLocator(environment: ["PATH": ""], manifestFolders: ["/nonexistent", folder.path])
      .locate("example")
    #if arch(arm64)
      #expect(found.path == "/opt/example/arm64/libexample.so")
    #else
      #expect(found.path == "/opt/example/amd64/libexample.so")
    #endif
    #expect(found.entryPoint == "ExampleInit")
  }

  @Test func notFoundSaysWhereItLookedAndWhatToInstall() throws {
    let locator = try ADBCDriverLocator(environment: ADBCTestDrivers.environment(), manifestFolders: [folder.path])
    let error = #expect(throws: ADBCError.self) { try locator.locate("adbc_driver_nosuch") }
    let message = error?.message ?? ""
    #expect(message.contains("the ADBC driver adbc_driver_nosuch was not found"))
    #expect(message.contains("BACKFLOW_ADBC_PATH (not set)"))
    #expect(message.contains("the Python package adbc_driver_nosuch of "))
    #expect(message.contains("\(folder.path)/adbc_driver_nosuch.toml"))
    #expect(message.contains("pip install adbc-driver-nosuch"))
  }

  @Test func aLibraryThatIsNoDriverIsRefused() throws {
    let error = #expect(throws: ADBCError.self) { try ADBCDriver.load(path: "/lib/x86_64-linux-gnu/libz.so.1") }
    #expect(error?.message.contains("is not an ADBC driver: it exports none of AdbcDriverInit, AdbcDriverZInit") == true)
  }
}
