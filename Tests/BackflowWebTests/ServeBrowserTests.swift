import BackflowTestSupport
import Foundation
import Testing

/// The pages in headless Chromium (Debian's `chromium`, which `make test` installs): each renders
/// without JavaScript or external files, and a screenshot of each is saved in
/// .build/web-screenshots/ to look at.
@Suite("backflow serve in a browser")
struct ServeBrowserTests {
  static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  static var screenshots: URL {
    Repository.root.appendingPathComponent(".build/web-screenshots")
  }

  @Test func chromiumRendersEveryPageAndSavesScreenshots() async throws {
    let chromium = try #require(Self.chromium, "chromium is missing: scripts/install-deps.sh installs it")
    let scenario = try await ServeTests.project()
    try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
    // A profile of its own marks every process this test starts, so all of them can be found
    // and killed whatever happens.
    let profile = scenario.directory.appendingPathComponent("chromium-profile-\(UUID().uuidString)")
    defer { Self.killChromium(using: profile) }
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let pages = [("syncs", "/"), ("sync", "/syncs/1"), ("run", "/runs/1"), ("errors", "/errors"), ("locks", "/locks")]
      for (name, path) in pages {
        let file = Self.screenshots.appendingPathComponent("\(name).png")
        try? FileManager.default.removeItem(at: file)
        let url = try #require(URL(string: path, relativeTo: served.base)).absoluteString
        let shot = try await Self.run(
          chromium, ["--screenshot=\(file.path)", "--window-size=1280,860", url], profile: profile)
        #expect(shot.status == 0, "\(name): \(shot.output)")
        let png = try Data(contentsOf: file)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(name) is not a PNG")
        // A blank page compresses to a few hundred bytes; one with tables and text does not.
        #expect(png.count > 10_000, "\(name).png is \(png.count) bytes")
      }
      // What Chromium parsed: the chart's bars and the run table. The pages hold no script, and
      // their Content-Security-Policy (default-src 'none') would forbid one.
      let dom = try await Self.run(
        chromium, ["--dump-dom", served.base.appendingPathComponent("syncs/1").absoluteString], profile: profile)
      #expect(dom.status == 0)
      #expect(dom.output.contains("<svg") && dom.output.contains("<rect"))
      #expect(dom.output.contains("<table class=\"runs\">"))
      #expect(!dom.output.contains("<script"))
    }
  }

  /// Runs headless Chromium to its end (it exits after a screenshot or a DOM dump); a watchdog
  /// kills it if it hangs.
  static func run(_ chromium: String, _ arguments: [String], profile: URL) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium)
    process.arguments = [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
      "--hide-scrollbars", "--user-data-dir=\(profile.path)",
    ] + arguments
    let log = profile.deletingLastPathComponent().appendingPathComponent("chromium-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    let out = Pipe()
    process.standardOutput = out
    process.standardError = try FileHandle(forWritingTo: log)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let watchdog = Task {
      try await Task.sleep(for: .seconds(180))
      killChromium(using: profile)
    }
    let reader = Data.Reader(out.fileHandleForReading)
    await BackflowProcess.exit(of: process)
    watchdog.cancel()
    let stdout = String(decoding: reader.wait(), as: UTF8.self)
    let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    return (process.terminationStatus, stdout + (process.terminationStatus == 0 ? "" : stderr))
  }

  /// SIGKILLs every process whose command line names `profile`: the browser and its helpers.
  static func killChromium(using profile: URL) {
    let marker = Data(profile.path.utf8)
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
      guard let pid = Int32(entry), pid != getpid(),
        let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
        commandLine.range(of: marker) != nil
      else { continue }
      kill(pid, SIGKILL)
    }
  }
}
