import BackflowConfig
import BackflowTestSupport
import Foundation
import Testing

/// `/metrics`, read by prometheus-client's own text parser (scripts/parse_metrics.py in the
/// virtual environment scripts/test-venv.sh makes), agrees with `backflow runs --format json`.
@Suite("backflow serve metrics")
struct ServeMetricsTests {
  struct Sample {
    var name: String
    var labels: [String: String]
    var value: Double
  }

  /// Every sample of the parsed text, and each family's type by name.
  static func parse(_ text: String) throws -> (samples: [Sample], types: [String: String]) {
    let setup = try BackflowProcessRunner.run("/bin/bash", [Repository.root.appendingPathComponent("scripts/test-venv.sh").path])
    #expect(setup.status == 0, "\(setup.stderr)")
    let python = setup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let parsed = try BackflowProcessRunner.run(
      python, [Repository.root.appendingPathComponent("scripts/parse_metrics.py").path], input: text)
    try #require(parsed.status == 0, "the Prometheus parser refused /metrics: \(parsed.stderr)\n\(text)")
    let json = try JSONValue.parse(parsed.stdout)
    guard case let .array(families)? = json["families"] else { throw ScenarioError("no families") }
    var samples: [Sample] = []
    var types: [String: String] = [:]
    for family in families {
      if case let .string(name)? = family["name"], case let .string(type)? = family["type"] { types[name] = type }
      guard case let .array(entries)? = family["samples"] else { continue }
      for entry in entries {
        guard case let .string(name)? = entry["name"], case let .object(labelPairs)? = entry["labels"] else { continue }
        var labels: [String: String] = [:]
        for (key, value) in labelPairs { if case let .string(text) = value { labels[key] = text } }
        let value: Double
        switch entry["value"] {
        case let .int(number)?: value = Double(number)
        case let .double(number)?: value = number
        case let .number(text)?: value = Double(text) ?? .nan
        default: continue
        }
        samples.append(Sample(name: name, labels: labels, value: value))
      }
    }
    return (samples, types)
  }

  @Test(arguments: Backend.allCases)
  func metricsParseAndAgreeWithRuns(_ backend: Backend) async throws {
    guard backend.available else { return }
    let scenario = try await ServeTests.project(backend)
    try await ServedProject.with(scenario) { (served) async throws -> Void in
      let answer = try await served.get("/metrics")
      #expect(answer.status == 200 && answer.contentType.hasPrefix("text/plain; version=0.0.4"))
      let (samples, types) = try Self.parse(answer.body)
      #expect(types["backflow_runs"] == "counter" && types["backflow_rows"] == "counter")
      #expect(types["backflow_run_duration_seconds"] == "histogram")
      #expect(types["backflow_last_success_timestamp_seconds"] == "gauge")
      #expect(types["backflow_open_alerts"] == "gauge")
      let alerts = samples.filter { $0.name == "backflow_open_alerts" }
      #expect(alerts.map { [$0.labels["sync"], $0.labels["alert"]] } == [["shouting", "rejected_rows"]])
      #expect(alerts.map(\.value) == [1])

      let json = try scenario.backflowJSON(["runs", "--format", "json", "--limit", "0"])
      guard case let .array(runs)? = json["runs"] else { throw ScenarioError("no runs") }
      #expect(runs.count == 3)
      func int(_ value: JSONValue?) -> Int {
        if case let .int(number)? = value { return number }
        return 0
      }
      func string(_ value: JSONValue?) -> String? {
        if case let .string(text)? = value { return text }
        return nil
      }
      func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { sample in
          sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
      }
      let syncIDs = Set(runs.map { int($0["sync_id"]) })
      #expect(syncIDs == [1, 2])
      for syncID in syncIDs {
        let mine = runs.filter { int($0["sync_id"]) == syncID }
        let id = String(syncID)
        let name = try #require(string(mine.first?["sync"]))
        for status in ["succeeded", "failed", "aborted", "running"] {
          let count = mine.filter { string($0["status"]) == status }.count
          #expect((value("backflow_runs_total", ["sync_id": id, "status": status]) ?? 0) == Double(count))
        }
        #expect(samples.first { $0.name == "backflow_runs_total" && $0.labels["sync_id"] == id }?.labels["sync"] == name)
        for operation in ["add", "change", "remove"] {
          for outcome in ["succeeded", "failed", "aborted"] {
            let total = mine.reduce(0) { $0 + int($1[outcome]?[operation]) }
            #expect(
              value("backflow_rows_total", ["sync_id": id, "operation": operation, "outcome": outcome]) == Double(total),
              "\(name) \(operation) \(outcome)")
          }
        }
        let durations = mine.compactMap { run -> Int? in
          if case let .int(seconds)? = run["duration_seconds"] { return seconds }
          return nil
        }
        #expect(value("backflow_run_duration_seconds_count", ["sync_id": id]) == Double(durations.count))
        #expect(value("backflow_run_duration_seconds_sum", ["sync_id": id]) == Double(durations.reduce(0, +)))
        #expect(value("backflow_run_duration_seconds_bucket", ["sync_id": id, "le": "+Inf"]) == Double(durations.count))
        let five = samples.first {
          $0.name == "backflow_run_duration_seconds_bucket" && $0.labels["sync_id"] == id
            && Double($0.labels["le"] ?? "") == 5
        }
        #expect(five?.value == Double(durations.filter { $0 <= 5 }.count))
        let lastSuccess = mine.filter { string($0["status"]) == "succeeded" }.compactMap { string($0["finished_at"]) }
          .compactMap { try? Date($0, strategy: .iso8601) }.max()
        #expect(
          value("backflow_last_success_timestamp_seconds", ["sync_id": id])
            == lastSuccess.map { $0.timeIntervalSince1970.rounded(.down) })
      }
      // Run 1 failed Bob's row; run 3 sent it again.
      #expect(value("backflow_rows_total", ["sync": "users_to_crm", "operation": "add", "outcome": "failed"]) == 1)
      #expect(value("backflow_runs_total", ["sync": "users_to_crm", "status": "failed"]) == 1)
    }
  }
}

/// Runs a program other than `backflow`, feeding `input` to its standard input.
enum BackflowProcessRunner {
  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ executable: String, _ arguments: [String], input: String = "") throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let feeding = Thread {
      stdin.fileHandleForWriting.write(Data(input.utf8))
      try? stdin.fileHandleForWriting.close()
    }
    feeding.start()
    let errors = Data.Reader(stderr.fileHandleForReading)
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = errors.wait()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
      stderr: String(decoding: err, as: UTF8.self))
  }
}

extension Data {
  /// Reads a handle to its end on a thread of its own, so two pipes can be drained at once.
  final class Reader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
      Thread.detachNewThread { [self] in
        data = handle.readDataToEndOfFile()
        done.signal()
      }
    }

    func wait() -> Data {
      done.wait()
      return data
    }
  }
}
